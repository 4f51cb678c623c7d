"""Gradebook helpers of the tests: what autograding or a grader leaves in a gradebook, and reading it back."""

from nbgrader.api import Gradebook

from autograder.course import coursedir
from autograder.rubric import RUBRIC

AUTO_CELL = RUBRIC["12.6d"].grade_cell  # an auto-graded item's test cell
MANUAL_CELL = RUBRIC["12.2b"].grade_cell  # a free-text answer


def autograded(url, student, auto_scores, comment=None):
    """What `nbgrader autograde` leaves in a (worker's) gradebook for a student."""
    with Gradebook(url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission("assignment12", student)
        for grade in submission.notebooks[0].grades:
            grade.auto_score = auto_scores.get(grade.name, 0.0 if grade.cell.cell_type == "code" else None)
            grade.needs_manual_grade = grade.auto_score is None
        for c in submission.notebooks[0].comments:
            c.auto_comment = comment
        gb.db.commit()


def grades(url, student):
    with Gradebook(url) as gb:
        notebook = gb.find_submission("assignment12", student).notebooks[0]
        return (
            {g.name: (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade) for g in notebook.grades},
            {c.name: (c.auto_comment, c.manual_comment) for c in notebook.comments},
            notebook.flagged,
        )


def grade_by_hand(url, student, points):
    with Gradebook(url) as gb:
        for grade in gb.find_submission("assignment12", student).notebooks[0].grades:
            if grade.cell.cell_type == "markdown":
                grade.manual_score, grade.needs_manual_grade = points, False
        gb.db.commit()


def auto_scores(root, student):
    with Gradebook(coursedir.db_url(root)) as gb:
        notebook = gb.find_submission("assignment12", student).notebooks[0]
        return {g.name: g.auto_score for g in notebook.grades if g.cell.cell_type == "code"}, notebook.flagged
