"""``a12 demo``: the instructor's workflow end to end on a temporary course, offline, in a few minutes.

It builds a course from this repository's source notebook and releases the assignment; writes the
notebooks of fictitious students as an LMS would hand them out (a zip of Canvas-style names); collects
them; autogrades them in parallel into nbgrader's gradebook (SQLite, or PostgreSQL with ``--db-url``);
enters one grader's manual scores; and prints the 42-point score sheet, with the CSV and HTML summary
written beside the course.
"""

import copy
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder import ASSIGNMENT, NOTEBOOK, PACKAGE_DIR
from autograder.course import autograde, collect, confine, coursedir, mnist, scoresheet, summary
from autograder.course.plugins.grading_rules import GRADING
from autograder.limits import SUBMISSION_S
from autograder.rubric import RUBRIC

Edits = dict[str, list[tuple[str, str]]]  # grade id of an answer cell -> (old, new) replacements


@dataclass(frozen=True)
class DemoStudent:
    """A fictitious student: the reference answers with some edits, or the blank release."""

    name: str
    what: str
    edits: Edits = field(default_factory=dict)
    added: dict[str, str] = field(default_factory=dict)  # grade id -> a code cell the student added after it
    blank: bool = False


STUDENTS = [
    DemoStudent("ada", "the reference answers"),
    DemoStudent("bob", "the blank release", blank=True),
    DemoStudent(
        "noah",
        "sigma = beta in sampling (12.6d: -1); samples label 5, not 3 (12.8f: 0)",
        edits={
            "sample_from_model": [("sigma = torch.sqrt(beta[i])", "sigma = beta[i]")],
            "sample_label_3": [("label=3", "label=5")],
        },
    ),
    DemoStudent(
        "mia",
        "training loss against x_0, not the noise (12.5c: 2 of 3)",
        edits={"train_and_evaluate": [("F.mse_loss(estimated_noise, noise)", "F.mse_loss(estimated_noise, x)")]},
    ),
    DemoStudent(
        "leo",
        "a cell after 12.6d kills the kernel: flagged; the grader still gives every item its points",
        added={RUBRIC["12.6d"].grade_cell: "import os\nos._exit(1)  # ends the kernel"},
    ),
]


def build_course(dest: Path, repo: Path | None = None, db_url: str | None = None) -> Path:
    """A new course directory at ``dest`` with the config and source of ``repo`` (default: the installed
    package's own repository, wherever this runs), released; its gradebook at ``db_url`` (default:
    SQLite's gradebook.db in the course)."""
    repo = coursedir.find_root(repo or PACKAGE_DIR.parent)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "nbgrader_config.py", dest)
    if db_url:
        with open(dest / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    shutil.copytree(repo / "source", dest / "source", ignore=shutil.ignore_patterns("data", ".ipynb_checkpoints"))
    coursedir.release(dest)
    return dest


def without_rules(text: str) -> str:
    """A free-text answer of the solution, less its grading rules (which students never see)."""
    return text.split(GRADING, 1)[0].rstrip()


def student_notebook(root: Path, student: DemoStudent) -> nbformat.NotebookNode:
    """The release notebook, with the solution's answers and the student's edits and added cells."""
    nb = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    if student.blank:
        return nb
    solution = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in nbformat.read(root / "solutions" / NOTEBOOK, as_version=4).cells
        if "nbgrader" in c.metadata
    }
    cells = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell = copy.deepcopy(cell)
            cell.source = without_rules(solution[grade_id])
            for old, new in student.edits.get(grade_id, []):
                if old not in cell.source:
                    raise ValueError(f"{student.name}: {old!r} is not in the answer {grade_id}")
                cell.source = cell.source.replace(old, new)
        cells.append(cell)
        if grade_id in student.added:
            cells.append(nbformat.v4.new_code_cell(student.added[grade_id]))
    nb.cells = cells
    return nb


def lms_zip(root: Path, students: list[DemoStudent], path: Path) -> Path:
    """The students' notebooks as an LMS download: ``<name>_<user id>_<submission id>_assignment12.ipynb``."""
    with zipfile.ZipFile(path, "w") as archive:
        for number, student in enumerate(students, start=1):
            name = f"{student.name}_{1000 + number}_{52000 + number}_{NOTEBOOK}"
            archive.writestr(name, nbformat.writes(student_notebook(root, student)))
    return path


def grade_by_hand(db_url: str, student: str, points: dict[str, float] | None = None) -> None:
    """Enter a grader's manual scores for a student's free-text answers (full points unless given)."""
    with Gradebook(db_url) as gb:
        for grade in gb.find_submission(ASSIGNMENT, student).notebooks[0].grades:
            if grade.cell.cell_type == "markdown":
                grade.manual_score = (points or {}).get(grade.name, grade.max_score)
                grade.needs_manual_grade = False
        gb.db.commit()


def run_demo(
    folder: Path | None = None,
    workers: int | None = None,
    timeout_s: float = SUBMISSION_S,
    repo: Path | None = None,
    db_url: str | None = None,
) -> Path:
    """Run the demo in ``folder`` (default: a new temporary folder) on the course of ``repo`` (default:
    the installed package's), its gradebook at ``db_url`` (default: SQLite); return the demo's course directory."""
    folder = Path(folder or tempfile.mkdtemp(prefix="a12-demo-"))
    root = folder / "course"
    print(f"1. course in {root}: nbgrader generate_assignment", flush=True)
    build_course(root, repo, db_url)
    print(f"   {mnist.ensure_mnist(root / 'data')}")
    download = lms_zip(root, STUDENTS, folder / "lms-download.zip")
    print(f"2. submissions of {len(STUDENTS)} fictitious students in {download.name}:")
    for student in STUDENTS:
        print(f"   {student.name:6} {student.what}")
    for line in collect.collect(root, download, names="canvas"):
        print(f"   {line}")
    print("3. autograde in parallel", flush=True)
    confined = (reason := confine.unavailable()) is None
    if not confined:  # the demo's notebooks are this package's own: they may run unconfined
        print(f"   unconfined: {reason}")
    outcomes = autograde.autograde(root, workers=workers, timeout_s=timeout_s, confined=confined)
    print(autograde.summary_text(outcomes))
    print("4. a grader gives ada full points on her 23 free-text answers (in formgrader, in real life)")
    grade_by_hand(coursedir.db_url(root), "ada")
    sheet = scoresheet.read(coursedir.db_url(root))
    csv_path, html_path = (
        scoresheet.write_csv(sheet, folder / "scores.csv"),
        summary.write_html(sheet, folder / "summary.html"),
    )
    print(f"5. the score sheet ({csv_path}; summary: {html_path}):\n")
    print(scoresheet.table(sheet))
    return root
