"""Every seeded mistake loses exactly its rubric points on its own item; every alternative
correct answer gets full points."""

import pytest

from autograder.grading.checks import all_checks, run_check
from autograder.grading.namespace import student_namespace
from autograder.rubric import ITEMS

from .support.catalogue import ALTERNATIVES, MISTAKES, Case, variant


def grade_in_process(submission, items: set[str] | None = None) -> dict:
    """The checks of ``items`` (all where None), observed and judged in this process (the catalogue holds
    no hostile code)."""
    results = {}
    for check in all_checks():
        if items is None or check.item in items:
            results[check.item] = run_check(check, student_namespace(submission), submission)
    return results


def items_reading(case: Case) -> set[str]:
    """The case's item and every item whose answer cells the case changes. A check replaces the other
    items' functions with the reference's or with spies, so no other item can change;
    ``test_a_mistake_changes_no_other_item`` keeps that so, with every check on one mistake per item."""
    return {case.item} | {i.item for i in ITEMS if i.auto and set(i.answer_cells) & set(case.changes)}


def test_catalogue_size():
    assert len(MISTAKES) >= 25 and len(ALTERNATIVES) >= 10
    assert len({c.item for c in MISTAKES}) == 9  # every auto-graded item has seeded mistakes


@pytest.mark.parametrize(
    "case",
    [next(c for c in MISTAKES if c.item == i.item and set(c.changes) <= set(i.answer_cells)) for i in ITEMS if i.auto],
    ids=lambda c: c.item,
)
def test_a_mistake_changes_no_other_item(case: Case, reference):
    """Every check on one mistake of each item: only the case's own item loses points."""
    results = grade_in_process(variant(reference, case))
    assert len(results) == 9
    assert {item for item, r in results.items() if r.points < r.max_points} == {case.item}


@pytest.mark.parametrize("case", MISTAKES + ALTERNATIVES, ids=lambda c: f"{c.item} {c.name}")
def test_case_scores_exactly_its_points(case: Case, reference):
    results = grade_in_process(variant(reference, case), items_reading(case))
    got = {item: r.points for item, r in results.items()}
    expected = {item: r.max_points for item, r in results.items()} | {case.item: case.points}
    assert got == expected, results[case.item].reasons
    lost = results[case.item].max_points - case.points
    assert len(results[case.item].reasons) >= (1 if lost else 0)
    # nothing in the catalogue behaves differently under grading: the consistency run flags none of it
    assert [r.flags for r in results.values() if r.flags] == []


def test_training_feedback_names_the_function_that_made_the_mistake(reference):
    """Calls are told apart by the student's function that made them, not by whether gradients are on."""
    from autograder.grading.checks import training

    case = next(c for c in MISTAKES if c.name == "evaluate_conditional without torch.no_grad()")
    submission = variant(reference, case)
    result = run_check(training.TRAIN_CONDITIONAL, student_namespace(submission), submission)
    assert result.points == 0 and result.reasons
    assert all(reason.startswith("evaluate_conditional") for reason in result.reasons), result.reasons


def test_an_evaluation_that_changes_with_the_provided_model_loses_and_is_flagged(reference):
    """12.5c's stand-in is checked in the notebook's own conditions too: an evaluate that is right only
    with the grader's model (it doubles its loss for the provided UNet) loses its point, and is flagged;
    the reference is not flagged."""
    from autograder.grading.checks import training

    from .support.catalogue import EVAL_LOSS

    doubled = "F.mse_loss(estimated_noise, noise) * (2 if type(model).__name__ == 'UNet' else 1)"
    case = Case(
        "evaluate that doubles its loss with the provided UNet",
        "12.5c",
        2,
        {"train_and_evaluate": [(EVAL_LOSS, EVAL_LOSS.replace("F.mse_loss(estimated_noise, noise)", doubled))]},
    )
    for submission, points, flagged in ((variant(reference, case), 2, True), (reference, 3, False)):
        observations = training.TRAIN.observe(student_namespace(submission), submission, training.TRAIN.prepare())
        result = training.TRAIN.result(observations)
        assert result.points == points
        flags = result.flags
        assert bool(flags) == flagged and all("with the provided model" in flag for flag in flags), flags
