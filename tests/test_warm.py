"""``a12 autograde``'s warm workers (autograder.course.warm): a kernel forked in advance must be set up as
a started one (in its jail), and the warm grader must grade the notebook. A student cell added at the end of
the reference solution reports what the kernel sees; the same notebook under plain ``nbgrader
autograde`` (every process started fresh) is the comparison."""

import json
import subprocess
import sys

import nbformat
import pytest

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import autograde, confine, coursedir, demo, warm

from .conftest import ROOT

PROBE = """\
import json, os, pathlib, random, sys, warnings
import matplotlib, numpy as np, torch
import autograder
if "IPYTHONDIR" in os.environ:  # in the kernel, not in the grader's sandbox
    with warnings.catch_warnings(record=True) as shown:
        for category in (UserWarning, DeprecationWarning, FutureWarning, RuntimeWarning):
            warnings.warn("probe", category)
    print("PROBE " + json.dumps({
        "forked from the warm server": "nbgrader" in sys.modules,
        "cwd": os.getcwd(),
        "own session": os.getsid(0) == os.getpid(),
        "sees the course": os.path.exists(pathlib.Path.cwd().parents[2] / "gradebook.db"),
        "package": sorted(os.listdir(os.path.dirname(autograder.__file__))),
        "threads": torch.get_num_threads(),
        "draws": [random.random(), float(np.random.rand())],  # the notebook seeds torch itself
        "backend": matplotlib.get_backend(),
        "warnings shown": [w.category.__name__ for w in shown],
        "environment": sorted(os.environ),
    }))
"""
PROBED = [
    demo.DemoStudent(name, "the reference, and a cell that reports on its kernel", added={"sample_every_digit": PROBE})
    for name in ("pia", "pim", "pop")
]
SET_BY_A12 = {"MKL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"}
# Set for a started kernel by jupyter_client's launcher and by bwrap (the working folder); by torch, at times.
SET_WHEN_STARTED = {"JPY_PARENT_PID", "PWD", "TORCHINDUCTOR_CACHE_DIR"}


def probe(root, student):
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return json.loads(text.split("PROBE ", 1)[1].splitlines()[0]), figures


@pytest.fixture(scope="module")
def graded(tmp_path_factory, mnist_root):
    """pia and pim autograded by ``a12 autograde`` (two workers), pop by plain ``nbgrader autograde``."""
    root = demo.build_course(tmp_path_factory.mktemp("warm") / "course", ROOT)
    for student in PROBED:
        target = root / "submitted" / student.name / ASSIGNMENT / NOTEBOOK
        target.parent.mkdir(parents=True)
        nbformat.write(demo.student_notebook(root, student), target)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_ROOT", str(mnist_root))
        outcomes = autograde.autograde(root, ["pia", "pim"], workers=2)
        plain = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", "pop"],
            cwd=root,
            env=coursedir.nbgrader_env(),
            capture_output=True,
            text=True,
        )
    assert plain.returncode == 0, plain.stderr[-2000:]
    return root, outcomes


def test_warm_workers_grade_in_full(graded):
    root, outcomes = graded
    assert [(o.student, o.auto_points, o.problem) for o in outcomes] == [("pia", 13, ""), ("pim", 13, "")]
    for student in ("pia", "pim"):
        assert "the warm grader graded" in (root / ".a12" / "logs" / f"{student}.log").read_text()


def test_a_warm_kernel_is_set_up_as_a_started_one(graded):
    root, _ = graded
    (pia, pia_figures), (pim, _), (pop, pop_figures) = (probe(root, s) for s in ("pia", "pim", "pop"))
    assert pia["forked from the warm server"] and pim["forked from the warm server"]
    assert not pop["forked from the warm server"]
    for student, seen in (("pia", pia), ("pim", pim), ("pop", pop)):
        assert seen["cwd"] == str(root / "autograded" / student / ASSIGNMENT)
        assert seen["own session"]
        assert not seen["sees the course"] and seen["package"] == sorted(confine.KERNEL_FILES)  # jailed
        assert seen["backend"] == pop["backend"] and "inline" in seen["backend"]
        assert seen["warnings shown"] == []  # PYTHONWARNINGS=ignore, from nbgrader_config.py
    assert pia["threads"] == pim["threads"] == 1  # two workers share the cores
    # the thread counts: set by a12 for pia, passed on from the shell (if it sets them) for pop
    assert (
        set(pia["environment"]) - SET_BY_A12 - SET_WHEN_STARTED
        == set(pop["environment"]) - SET_BY_A12 - SET_WHEN_STARTED
    )
    for a, b in zip(pia["draws"], pim["draws"]):  # random and numpy seeded afresh in each kernel
        assert a != b
    assert pia_figures == pop_figures > 0  # figures reach the notebook as in a started kernel


def test_a_missing_kernel_provisioner_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(warm, "PROVISIONER", "a12-not-installed")
    with pytest.raises(coursedir.CourseError, match=r"pip install -e \."):
        warm.Server(tmp_path, {})
