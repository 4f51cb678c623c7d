"""Every seeded mistake loses exactly its rubric points on its own item; every alternative
correct answer gets full points."""

import pytest

from autograder.grading.checks import all_checks, run_check
from autograder.grading.namespace import student_namespace

from .support.catalogue import ALTERNATIVES, MISTAKES, Case, variant


def grade_in_process(submission) -> dict:
    """All checks, observed and judged in this process (the catalogue holds no hostile code)."""
    results = {}
    for check in all_checks():
        results[check.item] = run_check(check, student_namespace(submission), submission)
    return results


def test_catalogue_size():
    assert len(MISTAKES) >= 25 and len(ALTERNATIVES) >= 10
    assert len({c.item for c in MISTAKES}) == 9  # every auto-graded item has seeded mistakes


@pytest.mark.parametrize("case", MISTAKES + ALTERNATIVES, ids=lambda c: f"{c.item} {c.name}")
def test_case_scores_exactly_its_points(case: Case, reference):
    results = grade_in_process(variant(reference, case))
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
