"""Malformed notebooks get a clear error of their own, and grading of the others goes on."""

import json
import shutil
import subprocess
import sys

import pytest

from autograder.course import coursedir
from autograder.grading.grade import grade_notebook
from autograder.grading.submission import SubmissionError, read_submission

from .conftest import SOURCE


def notebook_json() -> dict:
    return json.loads(SOURCE.read_text())


def write(path, content) -> str:
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return str(path)


def without_metadata(nb: dict) -> dict:
    for cell in nb["cells"]:
        cell["metadata"] = {}
    return nb


MALFORMED = {
    "not JSON": (b"this is not a notebook", "not JSON"),
    "empty file": (b"", "not JSON"),
    "truncated": (SOURCE.read_bytes()[:5000], "not JSON"),
    "binary": (bytes(range(256)) * 4, "not a valid notebook"),
    "JSON list": ([1, 2, 3], "JSON but not a notebook"),
    "nbformat 3": ({**notebook_json(), "nbformat": 3}, "notebook format 3"),
    "metadata stripped": (without_metadata(notebook_json()), "no nbgrader metadata"),
    "cell not an object": ({**notebook_json(), "cells": ["print(1)"]}, "not a JSON object"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_notebook_has_a_clear_error(name, tmp_path):
    content, message = MALFORMED[name]
    with pytest.raises(SubmissionError, match=message):
        read_submission(write(tmp_path / "assignment12.ipynb", content))


def test_huge_notebook_is_refused_before_reading(tmp_path):
    path = write(tmp_path / "assignment12.ipynb", notebook_json())
    with pytest.raises(SubmissionError, match="clear the outputs"):
        read_submission(path, max_bytes=1000)


def test_deleted_answer_cell_costs_only_its_item(tmp_path):
    nb = notebook_json()
    nb["cells"] = [
        c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != "generate_noisy_samples"
    ]
    results = {r.item: r for r in grade_notebook(write(tmp_path / "assignment12.ipynb", nb)).results}
    assert results["12.2c"].points == 0 and "missing" in results["12.2c"].reasons[0]
    assert sum(r.points for r in results.values()) == 12


def test_duplicated_answer_cell_runs_both_in_order(tmp_path):
    nb = notebook_json()
    index = next(
        i for i, c in enumerate(nb["cells"]) if c["metadata"].get("nbgrader", {}).get("grade_id") == "sample_from_model"
    )
    wrong = dict(nb["cells"][index], source="def sample_from_model(x, model, beta, device=device):\n    return x, []\n")
    nb["cells"].insert(index + 1, wrong)
    report = grade_notebook(write(tmp_path / "assignment12.ipynb", nb))
    assert any("appears twice" in note for note in report.notes)
    points = {r.item: r.points for r in report.results}
    assert points["12.6d"] == 0 and report.points == 11  # the later definition wins, as in the kernel


def test_regrade_goes_on_past_malformed_submissions(course_with_gradebook):
    """`a12 regrade` over a class: every malformed notebook is reported, the good one graded."""
    root, students = course_with_gradebook
    done = subprocess.run(
        [sys.executable, "-m", "autograder.course.cli", "regrade"],
        cwd=root,
        capture_output=True,
        text=True,
        env=coursedir.nbgrader_env(),
    )
    assert done.returncode == 0, done.stderr
    for student, message in students.items():
        if message:
            assert any(
                line.startswith(f"{student}: cannot be graded automatically") and message in line
                for line in done.stdout.splitlines()
            ), (student, done.stdout)
    assert f"{len(students)} submissions re-graded" in done.stdout


@pytest.fixture
def course_with_gradebook(course, tmp_path):
    students = {"good": None}
    for name, (content, message) in list(MALFORMED.items())[:4] + [
        ("metadata stripped", MALFORMED["metadata stripped"])
    ]:
        students[name.replace(" ", "-")] = message
        folder = course / "submitted" / name.replace(" ", "-") / "assignment12"
        folder.mkdir(parents=True)
        write(folder / "assignment12.ipynb", content)
    (course / "submitted/good/assignment12").mkdir(parents=True)
    shutil.copy(SOURCE, course / "submitted/good/assignment12")
    return course, students
