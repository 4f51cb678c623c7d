"""``autograder.rubric`` is the score sheet: the course owner's text, the source notebook's nbgrader
metadata, its questions and the checks all agree with it."""

import re

import pytest

from autograder import rubric
from autograder.grading.checks import all_checks

from .conftest import ROOT, SOURCE, nbgrader_cells, unavailable

SCORE_SHEET = ROOT.parent / "shared" / "spec" / "assignment12-score-sheet.txt"


def grade_cells() -> dict[str, dict]:
    """The source notebook's grade cells by grade_id: their nbgrader metadata and cell type."""
    return {
        c["metadata"]["nbgrader"]["grade_id"]: {**c["metadata"]["nbgrader"], "cell_type": c["cell_type"]}
        for c in nbgrader_cells(SOURCE)
        if c["metadata"]["nbgrader"].get("grade")
    }


def test_the_score_sheet_text_has_the_same_items_and_points():
    """Item lines such as "12.2 b Add comment(b) Describe ... (2 points)" and section lines."""
    if not SCORE_SHEET.is_file():
        unavailable(f"the course owner's score sheet is not beside the repository ({SCORE_SHEET})")
    text = SCORE_SHEET.read_text(encoding="utf-8")
    items = {
        f"{s}{letter}": int(points)
        for s, letter, points in re.findall(r"^(12\.\d) ([a-z]) Add comment.*\((\d+) points?\)\s*$", text, re.M)
    }
    sections = {s: int(points) for s, points in re.findall(r"^(12\.\d) [^\n]*\((\d+) points\)¶", text, re.M)}
    assert items == {item.item: item.points for item in rubric.ITEMS}
    assert sections == rubric.sections()
    assert sum(items.values()) == rubric.TOTAL == 42


def test_every_grade_cell_is_an_item_with_its_points_and_kind():
    cells = grade_cells()
    assert set(cells) == set(rubric.BY_GRADE_CELL)
    for item in rubric.ITEMS:
        meta = cells[item.grade_cell]
        assert meta["points"] == item.points, item.item
        assert (meta["cell_type"], bool(meta.get("solution"))) == (("code", False) if item.auto else ("markdown", True))
    assert sum(rubric.AUTO.values()) + sum(rubric.MANUAL.values()) == rubric.TOTAL


def test_answer_cells_are_the_students_and_come_before_their_test():
    order = [c["metadata"]["nbgrader"]["grade_id"] for c in nbgrader_cells(SOURCE)]
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]
        for c in nbgrader_cells(SOURCE)
        if c["metadata"]["nbgrader"].get("solution")
    }
    for item in rubric.ITEMS:
        assert item.answer_cells and set(item.answer_cells) <= answers, item.item
        assert all(order.index(cell) <= order.index(item.grade_cell) for cell in item.answer_cells), item.item


def test_hidden_tests_score_their_own_item():
    sources = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nbgrader_cells(SOURCE)}
    for item in rubric.ITEMS:
        if item.auto:
            assert re.findall(r'score\("([\d.a-z]+)"\)', sources[item.grade_cell]) == [item.item]


def test_sections_state_their_points():
    headings = {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in nbgrader_cells(SOURCE)
        if c["cell_type"] == "markdown"
    }
    found = {}
    for text in headings.values():
        for section, points in re.findall(r"^## (12\.\d) [^\n]*\((\d+) points\)", text, re.M):
            found[section] = int(points)
    assert found == rubric.sections()


def test_question_text_states_the_points():
    """Students see each item's letter and points in its question: "**(b)** ... *(2 points)*"."""
    questions = {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in nbgrader_cells(SOURCE)
        if c["cell_type"] == "markdown"
    }
    for item in rubric.ITEMS:
        text = questions[item.question]
        unit = "point" if item.points == 1 else "points"
        assert f"**({item.letter})**" in text and f"*({item.points} {unit})*" in text, item.item


def test_one_check_per_auto_item():
    assert [check.item for check in all_checks()] == list(rubric.AUTO)


def test_item_of_grade_cells():
    assert rubric.item_of("test_12_6d_sample_from_model") == "12.6d"
    assert rubric.item_of("answer_12_9f_very_large_beta") == "12.9f"
    with pytest.raises(ValueError, match="not a grade cell"):
        rubric.item_of("answer_12_9z_made_up")
