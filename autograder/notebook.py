"""What the hidden test cells call: ``score("12.6d")`` prints the feedback and returns the points.

This module runs in the student's kernel, next to student code: it imports nothing heavy and
nothing else of the package but ``autograder.report``, and nothing it does decides a grade. While nbgrader autogrades, the
points come from the independent grader, outside the kernel (``autograder.course.plugins.independent``),
which hands the kernel its report in ``A12_REPORT`` only to show the same lines here; the test
cells' outputs are then replaced with that report's. Elsewhere (the instructor running the source
notebook), the first call grades the saved notebook file in the current folder with ``python -m
autograder.grading.grade``. Nothing is written to stderr, which nbgrader would count as a failure.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder import NOTEBOOK, REPORT_ENV
from autograder.limits import GRADER_S
from autograder.report import feedback

_reports: dict[str, dict] = {}


def _notebook_path() -> Path:
    path = Path(NOTEBOOK)
    if path.is_file():
        return path.resolve()
    found = sorted(Path.cwd().glob("*.ipynb"))
    if len(found) == 1:
        return found[0].resolve()
    raise FileNotFoundError(f"cannot find {NOTEBOOK} in {Path.cwd()}: run the notebook from its own folder")


def _run_grader(path: Path) -> str:
    """The JSON report from ``python -m autograder.grading.grade``."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    done = subprocess.run(
        [sys.executable, "-m", "autograder.grading.grade", "--json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=GRADER_S,
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError(f"the autograder failed: {lines[-1]}")
    return done.stdout.strip().splitlines()[-1]


def _report() -> dict:
    if REPORT_ENV in os.environ:
        return json.loads(os.environ[REPORT_ENV])
    path = str(_notebook_path())
    if path not in _reports:
        _reports[path] = json.loads(_run_grader(Path(path)))
    return _reports[path]


def score(item: str) -> float:
    """Points of one auto-graded item; prints a line per point lost."""
    try:
        points, lines = feedback(_report(), item)
    except Exception as error:  # print, never raise: the cell shows 0 with the reason
        print(f"{item}: 0 points: {error}. Ask the instructor to grade this item by hand.")
        return 0.0
    print("\n".join(lines))
    return points
