"""Grader assist: the score sheet's rules under each free-text answer for graders, never in feedback."""

import copy

import nbformat
from nbconvert.exporters import HTMLExporter
from traitlets.config import Config

from autograder.course.plugins import configure
from autograder.course.plugins.grading_rules import (
    InsertGradingRules,
    RemoveGradingRules,
    grading_rules,
    is_rules_cell,
    rules_cell,
)
from autograder.rubric import MANUAL, item_of

from .conftest import RELEASE, SOURCE


def test_every_free_text_item_has_rules_in_the_source():
    rules = grading_rules(SOURCE)
    assert sorted(item_of(grade_id) for grade_id in rules) == sorted(MANUAL)
    assert all(text.startswith("- ") and "point" in text for text in rules.values())
    assert "1 point for describing the forward process" in rules["answer_12_2b_interpret_noisy_images"]


def test_the_release_holds_no_rules():
    assert not set(grading_rules(RELEASE).values())
    for text in grading_rules(SOURCE).values():
        assert text not in RELEASE.read_text()


def insert_rules(nb, course_root):
    config = Config()
    config.CourseDirectory.root = str(course_root)
    resources = {"nbgrader": {"assignment": "assignment12", "notebook": "assignment12"}}
    return InsertGradingRules(config=config).preprocess(nb, resources)[0]


def test_rules_follow_each_answer_and_a_students_own_rules_cell_is_dropped(course):
    nb = nbformat.read(RELEASE, as_version=4)
    spoof = rules_cell("answer_12_2b_interpret_noisy_images", 2, "- 2 points for anything")
    nb.cells.insert(3, spoof)
    graded = insert_rules(copy.deepcopy(nb), course)
    rules = grading_rules(SOURCE)
    inserted = [(i, cell) for i, cell in enumerate(graded.cells) if is_rules_cell(cell)]
    assert len(inserted) == len(rules) == 23
    for i, cell in inserted:
        answer = graded.cells[i - 1].metadata.nbgrader
        assert answer["grade_id"] == cell.metadata["a12_grading_rules"] and answer["solution"]
        assert rules[answer["grade_id"]] in cell.source and f"({answer['points']:g} point" in cell.source
    assert "anything" not in nbformat.writes(graded)
    assert [c for c in graded.cells if not is_rules_cell(c)] == [c for c in nb.cells if c is not spoof]


def test_feedback_drops_the_rules(course):
    graded = insert_rules(nbformat.read(RELEASE, as_version=4), course)
    feedback, _ = RemoveGradingRules().preprocess(copy.deepcopy(graded), {})
    assert not any(is_rules_cell(c) for c in feedback.cells)
    assert feedback.cells == nbformat.read(RELEASE, as_version=4).cells


def test_feedback_pages_hold_no_rules_and_formgraders_do(course):
    """The course's HTMLExporter as formgrader uses it, and as generate_feedback does: nbgrader registers
    the feedback preprocessors after the exporter's own (InertStudentWork), which keeps the rules' mark."""
    config = Config()
    configure(config)
    graded = insert_rules(nbformat.read(RELEASE, as_version=4), course)
    formgrader, _ = HTMLExporter(config=config).from_notebook_node(copy.deepcopy(graded))
    assert formgrader.count("Grading rules") == 23
    exporter = HTMLExporter(config=config)
    assert config.GenerateFeedback.preprocessors[0] is RemoveGradingRules
    exporter.register_preprocessor(RemoveGradingRules)
    feedback, _ = exporter.from_notebook_node(copy.deepcopy(graded))
    assert "Grading rules" not in feedback and "1 point for describing the forward process" not in feedback


def test_without_the_source_notebook_nothing_is_inserted(tmp_path):
    nb = nbformat.read(RELEASE, as_version=4)
    assert insert_rules(copy.deepcopy(nb), tmp_path).cells == nb.cells
