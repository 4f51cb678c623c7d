"""Re-grade submissions outside nbgrader and compare with the gradebook.

Each notebook is graded by ``python -I -m autograder.grading.grade`` in a fresh process (the student's code
in sandboxed children, never in a kernel), in a jail where bubblewrap is installed, with an
allow-listed environment, reading the notebook from its standard input: nothing a notebook did while
nbgrader ran it, no file in the course or the working folder, no variable of the shell can change
the verdict. An auto-graded item differs from the gradebook when its automatic score differs, or
when a manual score overrides it (formgrader lets a grader do that on purpose; anything else that
writes one is caught here). ``apply`` writes the independent scores into the gradebook's automatic
scores, leaving manual scores and comments as they are.
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import confine
from autograder.course.gradebook import Writer
from autograder.course.plugins.independent import run_grader
from autograder.limits import CHECK_CPU_S, CHECKS_S, GRADER_S
from autograder.report import Report
from autograder.rubric import AUTO, RUBRIC


@dataclass
class Difference:
    """An auto-graded item whose gradebook score differs from the independent one."""

    student: str
    item: str
    gradebook: float | None
    independent: float
    reasons: list[str]
    manual: bool = False  # the gradebook's score is a manual one that overrides the automatic score


def grade_in_fresh_process(
    notebook: Path, timeout_s: float = GRADER_S, check_timeout_s: float = CHECKS_S, cpu_s: int = CHECK_CPU_S
) -> Report:
    """The independent report of one notebook; a report of zeros with the reason if grading fails.

    The student's code gets ``cpu_s`` of CPU time per item and ``check_timeout_s`` of wall-clock time
    for all items; ``timeout_s`` bounds the whole run.
    """
    try:
        text = run_grader(
            Path(notebook).read_bytes(),
            confine.unavailable() is None,
            timeout_s,
            ("--timeout", str(check_timeout_s), "--cpu-seconds", str(cpu_s)),
        )
        return Report.from_json(text)
    except RuntimeError as error:
        reason = str(error)
    except OSError as error:
        reason = f"the notebook cannot be read ({error})"
    except subprocess.TimeoutExpired:
        reason = f"the autograder did not finish within {timeout_s:g} s"
    except (json.JSONDecodeError, IndexError, KeyError) as error:
        reason = f"the autograder's report could not be read ({error})"
    return Report.of_zeros(AUTO, reason)


def submissions(root: Path, students: list[str] | None = None) -> dict[str, Path]:
    """Student id -> submitted notebook, for the given students or everyone in submitted/."""
    folder = root / "submitted"
    if students is None:
        students = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return {name: folder / name / ASSIGNMENT / NOTEBOOK for name in students}


def compare(scores: dict[str, tuple[float | None, float | None]], student: str, report: Report) -> list[Difference]:
    """The items whose score in the gradebook (``scores``: grade cell -> (auto, manual), ``Writer.scores``)
    differs from ``report`` (missing counts as different)."""
    differences = []
    for result in report.results:
        auto, manual = scores.get(RUBRIC[result.item].grade_cell, (None, None))
        score, is_manual = (manual, True) if manual is not None else (auto, False)
        if score is None or abs(score - result.points) > 1e-9:
            differences.append(Difference(student, result.item, score, result.points, result.reasons, is_manual))
    return differences


def apply(gradebook: Gradebook, differences: list[Difference]) -> None:
    """Write the independent auto scores into the gradebook; manual scores stay as they are."""
    for difference in differences:
        grade = gradebook.find_grade(
            RUBRIC[difference.item].grade_cell, Path(NOTEBOOK).stem, ASSIGNMENT, difference.student
        )
        grade.auto_score = difference.independent
    gradebook.db.commit()


def regrade(
    root: Path, db_url: str, students: list[str] | None = None, write: bool = False, progress=print
) -> tuple[dict[str, Report], list[Difference]]:
    """Re-grade the submissions of ``root`` and compare each with the gradebook at ``db_url``."""
    reports, differences = {}, []
    notebooks = submissions(root, students)
    for number, (student, notebook) in enumerate(notebooks.items(), 1):
        progress(f"[{number}/{len(notebooks)}] {student}")
        reports[student] = grade_in_fresh_process(notebook)
    with Gradebook(db_url) as gradebook:  # nbgrader makes the tables of a gradebook that has none yet
        try:
            with Writer(db_url) as writer:
                scores = writer.scores(list(reports))  # students never autograded have none: nothing to compare
        except MissingEntry:  # the assignment itself was never autograded
            scores = {}
        for student, report in reports.items():
            if student not in scores:
                continue
            found = compare(scores[student], student, report)
            differences += found
            if write and found:
                apply(gradebook, found)
    return reports, differences
