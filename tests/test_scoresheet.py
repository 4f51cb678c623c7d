"""The 42-point score sheet from the gradebook: items, ungraded marks, totals, CSV, table, HTML."""

import csv
from datetime import datetime, timedelta

from nbgrader.api import Gradebook

from autograder.course import late, scoresheet
from autograder.rubric import AUTO, MANUAL, RUBRIC, item_of, sections

from .support.gradebooks import AUTO_CELL, autograded, grade_by_hand


def test_items_in_rubric_order_with_kinds_points_and_sections(gradebook_url):
    sheet = scoresheet.read(gradebook_url)
    assert [i.item for i in sheet.items] == sorted({**AUTO, **MANUAL})
    assert {i.item: i.max_points for i in sheet.items if i.kind == "auto"} == AUTO
    assert {i.item: i.max_points for i in sheet.items if i.kind == "manual"} == MANUAL
    assert sheet.sections == sections() and sheet.max_points == 42


def test_free_text_answers_not_graded_yet_are_marked_not_counted(tmp_path, gradebook_url):
    autograded(gradebook_url, "ada", {**{RUBRIC[i].grade_cell: 0 for i in AUTO}, "test_12_6d_sample_from_model": 2.0})
    autograded(gradebook_url, "bob", {})
    grade_by_hand(gradebook_url, "bob", 1.0)
    with Gradebook(gradebook_url) as gb:
        gb.add_student("cleo")  # on the roster, nothing submitted
    sheet = scoresheet.read(gradebook_url)
    ada, bob, cleo = sheet.rows
    assert ada.points["12.6d"] == 2 and ada.points["12.2b"] is None
    assert scoresheet.total(sheet, ada) is None and scoresheet.graded_so_far(ada) == 2
    assert scoresheet.status(sheet, ada) == "23 items (29 points) to grade"
    assert scoresheet.total(sheet, bob) == 23 and scoresheet.section_total(sheet, bob, "12.2") == 1
    assert scoresheet.status(sheet, cleo) == "no submission" and scoresheet.total(sheet, cleo) == 0

    rows = list(csv.DictReader(open(scoresheet.write_csv(sheet, tmp_path / "scores.csv"))))
    assert [r["student"] for r in rows] == ["ada", "bob", "cleo"]
    assert rows[0]["12.6d (auto, 2)"] == "2" and rows[0]["12.2b (manual, 2)"] == "ungraded"
    assert rows[0]["12.6 total (9)"] == "ungraded" and rows[0]["total (42)"] == "ungraded"
    assert rows[0]["graded so far"] == "2"
    assert rows[1]["12.2b (manual, 2)"] == "1" and rows[1]["12.2 total (4)"] == "1" and rows[1]["total (42)"] == "23"
    assert rows[2]["12.6d (auto, 2)"] == "" and rows[2]["status"] == "no submission"
    assert len(rows[0]) == 1 + 32 + 7 + 4 + 5 + 1  # student, 9 auto and 23 manual items, sections, totals, lateness,
    # and the autograding notes

    table = scoresheet.table(sheet)
    assert table.splitlines()[2].split()[:5] == ["ada", "0", "0", "0", "2"] and "?" in table.splitlines()[2]


def test_the_sheet_says_what_nbgraders_own_api_says(gradebook_url):
    """The score sheet reads the class in a few queries; each row equals nbgrader's ORM, student by student:
    manual over auto scores, items still to review, flags, extensions, times and lateness."""
    due = datetime(2027, 1, 15, 22, 59)
    late.set_due(gradebook_url, due)
    for student in ("ada", "bob", "cleo", "dan"):
        autograded(gradebook_url, student, {AUTO_CELL: 2.0, RUBRIC["12.2c"].grade_cell: 1.0})
    grade_by_hand(gradebook_url, "bob", 1.0)
    with Gradebook(gradebook_url) as gb:
        gb.add_student("eve")  # on the roster, nothing submitted
        gb.update_or_create_submission("assignment12", "ada", timestamp=due + timedelta(hours=30))
        bob = gb.update_or_create_submission("assignment12", "bob", timestamp=due + timedelta(hours=30))
        bob.extension = timedelta(days=2)
        cleo = gb.find_submission("assignment12", "cleo").notebooks[0]
        cleo.flagged = True
        overridden = next(g for g in cleo.grades if g.name == AUTO_CELL)
        overridden.manual_score = 0.5  # a grader's override of an automatic score
        review = next(g for g in gb.find_submission("assignment12", "dan").notebooks[0].grades if g.name == AUTO_CELL)
        review.needs_manual_grade = True  # autograding asked for a person
        gb.db.commit()

    rows = {row.student: row for row in scoresheet.read(gradebook_url).rows}
    with Gradebook(gradebook_url) as gb:
        assert sorted(rows) == sorted(s.id for s in gb.students)
        for student in ("ada", "bob", "cleo", "dan"):
            submission = gb.find_submission("assignment12", student)
            expected = {
                item_of(g.name): g.score if scoresheet._is_graded(g) else None for g in submission.notebooks[0].grades
            }
            row = rows[student]
            assert row.points == expected
            assert (row.flagged, row.timestamp, row.duedate, row.seconds_late) == (
                submission.notebooks[0].flagged,
                submission.timestamp,
                submission.duedate,
                submission.total_seconds_late,
            )
    assert rows["cleo"].points["12.6d"] == 0.5 and rows["dan"].points["12.6d"] is None and rows["cleo"].flagged
    assert rows["ada"].seconds_late == 30 * 3600 and rows["bob"].seconds_late == 0 and not rows["eve"].submitted
