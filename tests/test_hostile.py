"""Hostile submissions gain no point they did not earn, and each gets a result."""

import tempfile

import pytest

from autograder.course.regrade import grade_in_fresh_process
from autograder.grading.grade import grade_notebook

from .conftest import SOURCE
from .support.hostile import ATTACKS, FULL, Attack


def test_corpus_size():
    assert len(ATTACKS) >= 15


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_gains_nothing(attack: Attack, tmp_path):
    report = grade_in_fresh_process(attack.write(tmp_path / "submission"), cpu_s=10)
    assert report.error is None
    points = {r.item: r.points for r in report.results}
    assert points == attack.earned, {r.item: r.reasons for r in report.results}
    assert {flag["item"] for flag in report.flags} == set(attack.flags), report.flags


def test_the_private_folders_of_the_checks_are_removed(tmp_path, monkeypatch):
    """Each item's child works in its own temporary folder; whatever the student's code writes there
    is gone when grading ends."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    notebook = Attack(
        "writes a file", "", SOURCE, added=["open('scratch.txt', 'w').write('x' * 1000)\n"], earned=dict(FULL)
    ).write(tmp_path / "submission")
    report = grade_notebook(notebook, cpu_s=10)
    assert {r.item: r.points for r in report.results} == FULL
    assert list(temp.iterdir()) == []
