"""Hostile submissions gain no point they did not earn, and each gets a result."""
import pytest

from autograder.regrade import grade_in_fresh_process

from .hostile import ATTACKS, Attack


def test_corpus_size():
    assert len(ATTACKS) >= 15


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_gains_nothing(attack: Attack, tmp_path):
    report = grade_in_fresh_process(attack.write(tmp_path / "submission"), cpu_s=10)
    assert report.error is None
    points = {r.item: r.points for r in report.results}
    assert points == attack.earned, {r.item: r.reasons for r in report.results}
