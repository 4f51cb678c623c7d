"""`a12 export --lms canvas`: the Canvas gradebook import layout, the total after the late penalty."""

import csv
from datetime import datetime, timedelta

from nbgrader.api import Gradebook
from traitlets.config import Config

from autograder.course import late, lms, scoresheet

from .support.gradebooks import autograded, grade_by_hand

DUE = datetime(2027, 1, 15, 22, 59)


def test_canvas_csv_has_canvas_columns_and_the_total_after_the_penalty(tmp_path, gradebook_url):
    late.set_due(gradebook_url, DUE)
    for student, lms_id, submitted in (
        ("ada", "1001", DUE - timedelta(hours=1)),
        ("bob", "1002", DUE + timedelta(hours=30)),
        ("cleo", "1003", DUE),
        ("dan", None, DUE),
    ):
        autograded(gradebook_url, student, {"test_12_6d_sample_from_model": 2.0})
        with Gradebook(gradebook_url) as gb:
            gb.update_or_create_student(student, lms_user_id=lms_id, first_name=student.title(), last_name="Doe")
            gb.update_or_create_submission("assignment12", student, timestamp=submitted)
        if student != "cleo":
            grade_by_hand(gradebook_url, student, 1.0)  # 2 + 23 = 25 points
    config = Config()
    config.AssignLatePenalties.plugin_class = "autograder.course.late.PerDayPenalty"
    sheet = scoresheet.read(gradebook_url, late.plugin(config))
    path, problems = lms.write_canvas_csv(sheet, tmp_path / "canvas.csv", "Assignment 12 (4711)")
    rows = list(csv.reader(open(path, newline="")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 12 (4711)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "42"]
    assert rows[2:] == [
        ["Doe, Ada", "1001", "", "", "", "25"],
        ["Doe, Bob", "1002", "", "", "", "20"],  # 2 started days late: 20 % of 25 points
        ["Doe, Cleo", "1003", "", "", "", ""],
    ]  # not graded by hand yet: Canvas keeps its grade
    assert problems == [
        "cleo: items still to grade; the grade is left empty",
        "dan: no Canvas user id (collect with --names canvas); left out",
    ]
