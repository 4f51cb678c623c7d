"""The score sheet's HTML summary: distributions, and the items most students missed."""

import re

from autograder.course import scoresheet, summary

from .support.gradebooks import autograded, grade_by_hand


def test_the_html_summary_marks_items_most_students_missed(tmp_path, gradebook_url):
    for student, scores in (
        ("ada", {"test_12_6d_sample_from_model": 2.0, "test_12_2a_closed_form_noisy_images": 1.0}),
        ("bob", {"test_12_6d_sample_from_model": 2.0}),
    ):
        autograded(gradebook_url, student, scores)
        grade_by_hand(gradebook_url, student, 1.0)
    page = summary.write_html(scoresheet.read(gradebook_url), tmp_path / "summary.html").read_text()
    missed = page.split("Items most students missed")[1].split("</p>")[0]
    assert "12.5c" in missed and "12.6d" not in missed and "12.2a" not in missed  # 12.2a: mean 0.5 of 1
    assert "2 completely graded" in page
    assert page.count('<tr class="low">') == len(missed.split(","))


def test_histogram_bins_hold_every_score_up_to_the_top():
    rows = re.sub(r"<[^>]+>", " ", summary.histogram([0, 4.5, 5, 40, 42, 13], 42, 5)).split()
    assert rows[:2] == ["0–4", "2"] and rows[2:4] == ["5–9", "1"] and rows[-2:] == ["40–42", "2"]
    rows = re.sub(r"<[^>]+>", " ", summary.histogram([0, 12, 13], 13, 1)).split()
    assert len(rows) == 28 and rows[-4:] == ["12", "1", "13", "1"]
