"""The source notebook's nbgrader metadata adds up to the score sheet's 42 points."""
import re
from collections import Counter

from autograder.checks import all_checks

from .conftest import SOURCE, nbgrader_cells

# The score sheet's items (shared/README.md): auto-graded ones with their points, then manual ones.
AUTO = {"12.2a": 1, "12.2c": 1, "12.5c": 3, "12.6d": 2, "12.7c": 2, "12.8c": 1, "12.8e": 1, "12.8f": 1, "12.8g": 1}
MANUAL = {"12.2b": 2, "12.4b": 2, "12.4c": 3, "12.5a": 1, "12.5b": 1, "12.5d": 1, "12.5f": 1, "12.6a": 1,
          "12.6b": 2, "12.6c": 1, "12.6e": 1, "12.6f": 1, "12.6g": 1, "12.7b": 2, "12.7e": 1, "12.8b": 1,
          "12.8h": 1, "12.9a": 1, "12.9b": 1, "12.9c": 1, "12.9d": 1, "12.9e": 1, "12.9f": 1}
SECTIONS = {"12.2": 4, "12.4": 5, "12.5": 7, "12.6": 9, "12.7": 5, "12.8": 6, "12.9": 6}


def graded_items() -> dict[str, tuple[str, float]]:
    """Item (like "12.6d") -> (kind, points), read from the grade cells' ids and points."""
    items = {}
    for cell in nbgrader_cells(SOURCE):
        meta = cell["metadata"]["nbgrader"]
        if meta.get("grade"):
            kind = "manual" if meta.get("solution") else "auto"
            match = re.match(r"(?:answer|test)_(\d+)_(\d+)([a-z])_", meta["grade_id"])
            assert match, meta["grade_id"]
            item = f"{match[1]}.{match[2]}{match[3]}"
            assert item not in items, f"two grade cells for {item}"
            items[item] = (kind, float(meta["points"]))
    return items


def test_points_add_up_to_42():
    items = graded_items()
    assert sum(points for _, points in items.values()) == 42


def test_every_item_has_the_score_sheets_points_and_kind():
    items = graded_items()
    assert {i: p for i, (k, p) in items.items() if k == "auto"} == AUTO
    assert {i: p for i, (k, p) in items.items() if k == "manual"} == MANUAL
    assert sum(AUTO.values()) == 13 and sum(MANUAL.values()) == 29


def test_section_totals():
    totals = Counter()
    for item, (_, points) in graded_items().items():
        totals[item[:4]] += points
    assert totals == SECTIONS


def test_checks_match_the_test_cells():
    """Each check carries the points of its test cell, and every test cell has a check."""
    tests = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
             for c in nbgrader_cells(SOURCE) if c["metadata"]["nbgrader"].get("grade")
             and not c["metadata"]["nbgrader"].get("solution")}
    assert {check.test_cell: check.max_points for check in all_checks()} == tests
    for check in all_checks():
        assert f'score("{check.item}")' in "".join(
            next(c["source"] for c in nbgrader_cells(SOURCE) if c["metadata"]["nbgrader"]["grade_id"] == check.test_cell))


def test_question_text_states_the_points():
    """Students see each item's letter and points in its question: "**(b)** ... *(2 points)*"."""
    questions = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                 for c in nbgrader_cells(SOURCE) if c["cell_type"] == "markdown"}
    for item, points in {**AUTO, **MANUAL}.items():
        text = questions["question_" + item.replace(".", "_")]
        unit = "point" if points == 1 else "points"
        assert f"**({item[-1]})**" in text and f"*({points} {unit})*" in text, item
