"""Grades back to the LMS: ``a12 export --lms canvas`` writes a CSV for Canvas's gradebook import.

Canvas's layout (its gradebook export, which its import takes back): the columns ``Student``, ``ID``
(Canvas's user id), ``SIS User ID``, ``SIS Login ID`` and ``Section``, then one column per assignment
named ``<assignment name> (<Canvas assignment id>)``; a second row ``Points Possible`` gives the
assignment's points. Canvas matches rows by ``ID``, which ``a12 collect --names canvas`` keeps from
the file names as nbgrader's ``lms_user_id``. The assignment's column holds the total out of 42 after
the late penalty; it is left empty (Canvas leaves the grade as it is) while items are still to grade.
"""

import csv
from pathlib import Path

from autograder.course.scoresheet import ScoreSheet, total_after_penalty

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
LMS = ("canvas",)


def write_canvas_csv(sheet: ScoreSheet, path: Path, assignment_column: str) -> tuple[Path, list[str]]:
    """The Canvas gradebook import CSV; also the students left out or left empty, with the reason."""
    problems = []
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CANVAS_COLUMNS + [assignment_column])
        writer.writerow(["Points Possible", "", "", "", "", f"{sheet.max_points:g}"])
        for row in sheet.rows:
            if not row.lms_user_id:
                problems.append(f"{row.student}: no Canvas user id (collect with --names canvas); left out")
                continue
            points = total_after_penalty(sheet, row)
            if points is None:
                problems.append(f"{row.student}: items still to grade; the grade is left empty")
            writer.writerow(
                [row.name or row.student, row.lms_user_id, "", "", "", "" if points is None else f"{points:g}"]
            )
    return path, problems
