"""The parallel autograder's failure paths, with real nbgrader runs: one submission's failure never
stops the others, and each gets 0 on the auto-graded items it could not earn, flagged, with a reason.
(tests/test_workflow.py grades real submissions end to end.)"""

import nbformat
import pytest

from autograder.course import autograde, coursedir, demo, job

from .conftest import ROOT
from .support.gradebooks import auto_scores


@pytest.fixture(scope="module")
def released(tmp_path_factory, mnist_root):
    root = demo.build_course(tmp_path_factory.mktemp("batch") / "course", ROOT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_ROOT", str(mnist_root))
        yield root


def submit(root, student, text):
    folder = root / "submitted" / student / "assignment12"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment12.ipynb").write_text(text)


def test_notebooks_that_cannot_be_graded_get_0_and_the_others_are_graded(released):
    release = (released / "release/assignment12/assignment12.ipynb").read_text()
    submit(released, "bob", release)
    submit(released, "kim", '{"cells": [ this is not JSON')
    submit(released, "lea", release.replace('"schema_version": 3', '"schema_version": 99', 1))  # nbgrader refuses it
    lines = []
    outcomes = {
        o.student: o for o in autograde.autograde(released, ["bob", "kim", "lea"], workers=2, progress=lines.append)
    }
    assert outcomes["bob"].status == "graded" and outcomes["bob"].auto_points == 0 and not outcomes["bob"].problem
    assert outcomes["kim"].status == "not graded" and "is not a valid notebook (not JSON" in outcomes["kim"].problem
    assert outcomes["lea"].status == "not graded"
    assert outcomes["lea"].problem == "nbgrader failed: One or more notebooks in the assignment use an newer version"
    assert "kim.log" in autograde.summary_text(list(outcomes.values()))
    for student in ("kim", "lea"):
        scores, flagged = auto_scores(released, student)
        assert len(scores) == 9 and set(scores.values()) == {0} and flagged
    assert not auto_scores(released, "bob")[1]
    assert "GiB of memory available" in lines[0] and "2 workers" in lines[0]  # the budget's line
    assert lines[1].startswith("autograding 3 submissions with 2 workers")
    assert [line.split("] ")[1].split()[0] for line in lines[2:]] == ["1/3", "2/3", "3/3"]
    # graded submissions are skipped until they change, or with force
    assert autograde.autograde(released, ["bob"], progress=lines.append) == []


def test_a_run_killed_at_the_limit_is_graded_without_running(released, monkeypatch):
    monkeypatch.setattr(job, "GRACE_S", -2)  # nbgrader is killed 3 s after its start, before its own limit
    notebook = nbformat.read(released / "release/assignment12/assignment12.ipynb", as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    submit(released, "kai", nbformat.writes(notebook))
    (outcome,) = autograde.autograde(released, ["kai"], timeout_s=5)
    assert outcome.status == "graded without running" and "stopped at the time limit" in outcome.problem
    scores, flagged = auto_scores(released, "kai")
    assert set(scores.values()) == {0} and flagged
    graded = nbformat.read(released / "autograded/kai/assignment12/assignment12.ipynb", as_version=4)
    tests = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    assert len(tests) == 9
    assert all("did not finish this cell (not run: nbgrader was stopped" in c.outputs[0].text for c in tests)


def test_unknown_students_are_refused(released):
    with pytest.raises(coursedir.CourseError, match="no submission in submitted/<student>/assignment12"):
        autograde.autograde(released, ["nobody"])


def test_the_failure_is_read_from_nbgraders_log(tmp_path):
    log = tmp_path / "log"
    log.write_text(
        "[AutogradeApp | ERROR] There was an error processing assignment: x\n"
        "    Traceback (most recent call last):\n"
        "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON\n"
        "[AutogradeApp | ERROR] Please see the above traceback\n"
    )
    assert job.failure_of(log) == "nbformat.reader.NotJSONError: Notebook does not appear to be JSON"
    log.write_text("[AutogradeApp | ERROR] No assignment with ID 'assignment12' exists in the database\n")
    assert job.failure_of(log) == "No assignment with ID 'assignment12' exists in the database"
