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


def test_training_feedback_names_the_function_that_made_the_mistake(reference):
    """Calls are told apart by the student's function that made them, not by whether gradients are on."""
    from autograder.grading.checks import training

    case = next(c for c in MISTAKES if c.name == "evaluate_conditional without torch.no_grad()")
    submission = variant(reference, case)
    result = run_check(training.TRAIN_CONDITIONAL, student_namespace(submission), submission)
    assert result.points == 0 and result.reasons
    assert all(reason.startswith("evaluate_conditional") for reason in result.reasons), result.reasons
