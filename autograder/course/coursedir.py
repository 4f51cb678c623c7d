"""The course folder: where nbgrader's files live, and the generated student and solution notebooks.

The repository root is the course directory (``nbgrader_config.py``, ``source/``, ``release/``).
``release`` runs nbgrader's own ``generate_assignment``; ``solution_notebook`` derives the
solution (answers kept, hidden tests removed) with nbgrader's ``ClearHiddenTests``.
"""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput
from traitlets.config.loader import PyFileConfigLoader

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import audit, environment, late


class CourseError(Exception):
    """A problem with the course folder; the message says what to do."""


class UsageError(CourseError):
    """A command given wrong arguments (exit status 2); the message says what to do."""


def find_root(start: Path | None = None) -> Path:
    """The course directory: ``start`` (default: the working folder) or a parent with nbgrader_config.py."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "source" / ASSIGNMENT).is_dir():
            return folder
    raise CourseError(
        f"{start} is not inside a course directory: run this from the folder that holds "
        "nbgrader_config.py and source/, or pass --course"
    )


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader commands: an allow-list of this one's (``autograder.course.environment``),
    this Python's bin/ first on PATH (nbgrader runs alembic)."""
    return environment.for_instructor()


def db_url(root: Path) -> str:
    """The URL of the course's gradebook: nbgrader_config.py's, by default SQLite's gradebook.db in the course."""
    return with_driver(course_config(root).CourseDirectory.get("db_url", f"sqlite:///{root / 'gradebook.db'}"))


def with_driver(url: str) -> str:
    """A gradebook URL that names the psycopg driver for PostgreSQL (SQLAlchemy's default for
    ``postgresql://`` is psycopg2, which a12 does not install); other URLs as they are."""
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


def gradebook_url(root: Path) -> str:
    """The gradebook's URL once ``a12 release`` made it; CourseError says so before (never makes an empty one)."""
    url = db_url(root)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise CourseError(f"there is no gradebook ({url.removeprefix('sqlite:///')}) yet: run `a12 release` first")
    return url


def nbgrader(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course directory (on its gradebook, as ``db_url`` reads it); raise
    CourseError with its log if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.db_url={db_url(root)}"],
        cwd=root,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )
    if check and done.returncode != 0:
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def course_config(root: Path):
    """The course's nbgrader configuration, as nbgrader reads it."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def solution_notebook(source: Path, config) -> nbformat.NotebookNode:
    """The solution: the source notebook with its answers, without hidden tests, answer markers or outputs."""
    nb = nbformat.read(source, as_version=4)
    nb, _ = ClearHiddenTests(config=config).preprocess(nb, {})
    nb, _ = ClearOutput(config=config).preprocess(nb, {})
    markers = (config.ClearSolutions.begin_solution_delimeter, config.ClearSolutions.end_solution_delimeter)
    for cell in nb.cells:
        lines = cell.source.splitlines()
        kept = [line for line in lines if line.strip() not in markers]
        if kept != lines:
            cell.source = "\n".join(kept)
    return nb


def sources_of(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The cell types and sources of a notebook, for comparing generated notebooks."""
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def release(root: Path, due: datetime | None = None) -> list[Path]:
    """Generate ``release/`` with nbgrader and ``solutions/`` from the source notebook; store the due
    date (naive UTC) in the gradebook when given.

    A solution notebook whose sources are already up to date keeps its outputs (a full run's results).
    """
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    audit.install(db_url(root))
    if due is not None:
        late.set_due(db_url(root), due)
    solution = solution_notebook(root / "source" / ASSIGNMENT / NOTEBOOK, course_config(root))
    target = root / "solutions" / NOTEBOOK
    if not target.exists() or sources_of(nbformat.read(target, as_version=4)) != sources_of(solution):
        target.parent.mkdir(exist_ok=True)
        nbformat.write(solution, target)
    return [root / "release" / ASSIGNMENT / NOTEBOOK, target]
