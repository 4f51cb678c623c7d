"""``a12 feedback``: nbgrader's feedback (HTML) for each autograded student, with a warning for any
submission that still has items to grade (its feedback would show them as 0).

The grading rules that graders see are not in the feedback (``plugins.grading_rules``).
"""

from pathlib import Path

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import coursedir, scoresheet


def generate(root: Path, students: list[str] | None = None) -> tuple[list[Path], list[str]]:
    """Run ``nbgrader generate_feedback``; return the feedback files and a warning per unfinished student."""
    for student in students or ["*"]:
        coursedir.nbgrader(root, "generate_feedback", ASSIGNMENT, "--force", "--student", student)
    sheet = scoresheet.read(coursedir.db_url(root))
    chosen = [row for row in sheet.rows if row.submitted and (not students or row.student in students)]
    warnings = [
        f"{row.student}: {scoresheet.status(sheet, row)} (its feedback shows them as 0)"
        for row in chosen
        if scoresheet.total(sheet, row) is None
    ]
    files = [root / "feedback" / row.student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html") for row in chosen]
    return [f for f in files if f.exists()], warnings
