"""The 42-point score sheet from the gradebook: items, ungraded marks, totals, CSV, table, HTML."""

import csv

from nbgrader.api import Gradebook

from autograder.course import scoresheet
from autograder.rubric import AUTO, MANUAL, RUBRIC, sections

from .support.gradebooks import autograded, grade_by_hand


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
