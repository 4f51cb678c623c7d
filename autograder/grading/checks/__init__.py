"""One check per auto-graded rubric item.

A check has two halves. ``observe(ns, submission, prepared)`` runs the student's code (in ``ns``,
see ``autograder.grading.namespace``) on controlled inputs and returns what it saw, as plain data.
``judge(observations)`` compares that with the reference implementation and returns the points,
with one reason for each point lost, and optionally flags for a person (``Verdict``). ``prepare()`` makes, from the reference, any data that
``observe`` needs. ``run_check`` joins them in one process; ``autograder.grading.sandbox`` runs ``observe``
in an isolated child process that never loads the reference.

Modules of checks import ``autograder.reference`` only inside ``prepare`` and ``judge``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from autograder.grading.submission import Submission
from autograder.report import Result
from autograder.rubric import RUBRIC

# What ``judge`` returns: the points and a reason for each point lost, and optionally flags: why a
# person should look at the submission (such as code that behaves differently under grading).
Verdict = tuple[float, list[str]] | tuple[float, list[str], list[str]]


@dataclass(frozen=True)
class Check:
    """How to observe and judge an auto-graded rubric item (its points and test cell: ``autograder.rubric``)."""

    item: str
    description: str
    observe: Callable[[dict, Submission, Any], dict[str, Any]]
    judge: Callable[[dict[str, Any]], Verdict]
    prepare: Callable[[], Any] = lambda: None

    @property
    def max_points(self) -> int:
        return RUBRIC[self.item].points

    @property
    def test_cell(self) -> str:
        return RUBRIC[self.item].grade_cell

    def result(self, observations: dict[str, Any]) -> Result:
        """Judge observations into a Result, never above the item's points nor below 0."""
        points, reasons, *flags = self.judge(observations)
        return Result(
            self.item,
            max(0.0, min(float(points), self.max_points)),
            self.max_points,
            reasons,
            flags[0] if flags else [],
        )


def minus_per_mistake(max_points: int, mistakes: list[str]) -> tuple[float, list[str]]:
    """The rubric's "-1 point for each mistake", down to 0."""
    return max(0, max_points - len(mistakes)), mistakes


def all_or_nothing(max_points: int, mistakes: list[str]) -> tuple[float, list[str]]:
    """Full points for a correct implementation, else 0."""
    return (0 if mistakes else max_points), mistakes


def run_check(check: Check, ns: dict, submission: Submission) -> Result:
    """Observe and judge in this process (no isolation): for trusted code such as the reference.
    Single-threaded, as in grading's child processes (``autograder.grading.sandbox``): on small tensors
    a second thread only waits, and on a busy machine it made a check several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return check.result(check.observe(ns, submission, check.prepare()))
    finally:
        torch.set_num_threads(threads)


def all_checks() -> list[Check]:
    """The checks of every auto-graded item, in the order of the notebook."""
    from autograder.grading.checks import conditional_cells, noising, sampling, training

    return [
        noising.CLOSED_FORM,
        noising.NOISY_SAMPLES,
        training.TRAIN,
        sampling.SAMPLE,
        sampling.DETERMINISTIC,
        training.TRAIN_CONDITIONAL,
        sampling.SAMPLE_CONDITIONAL,
        conditional_cells.LABEL_3,
        conditional_cells.EVERY_DIGIT,
    ]
