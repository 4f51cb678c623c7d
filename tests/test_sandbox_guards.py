"""The sandbox's three guards hold wherever the grading engine lives in the package.

Each compares with the root package (``autograder.PACKAGE``, ``autograder.PACKAGE_DIR``), never with
the name or folder of the subpackage that the sandbox is in: moved into ``autograder/grading/``, a
comparison with ``__package__`` or ``__file__`` would silently let everything through.
"""

import sys
from types import SimpleNamespace

import pytest

import autograder
from autograder.grading import sandbox
from autograder.grading.submission import Submission


def test_the_reference_cannot_be_imported():
    guard = sandbox._NoReference()
    for name in ("autograder.reference", "autograder.reference.anything"):
        with pytest.raises(ImportError, match="reference answers cannot be imported"):
            guard.find_spec(name)
    for name in ("autograder.provided", "autograder.grading.stats", "reference", "numpy"):
        assert guard.find_spec(name) is None


def test_files_of_the_package_cannot_be_read(tmp_path, monkeypatch):
    """Even where the package lies inside a readable installation (site-packages)."""
    monkeypatch.setattr(sys, "prefix", str(autograder.PACKAGE_DIR.parent))
    hook = sandbox._audit_hook(str(tmp_path))
    for path in (autograder.PACKAGE_DIR / "reference.py", autograder.PACKAGE_DIR / "grading" / "sandbox.py"):
        with pytest.raises(PermissionError, match="not allowed while grading"):
            hook("open", (str(path), "r", 0))
    hook("open", (str(autograder.PACKAGE_DIR.parent / "pyproject.toml"), "r", 0))  # readable: not the package
    hook("open", (str(tmp_path / "scratch.txt"), "w", 0))  # its own folder


def _look_around(ns, submission, prepared) -> dict:
    """What student code would find: the package's modules, and the reference on import."""
    found = {"modules": sorted(m for m in sys.modules if m.partition(".")[0] == "autograder")}
    try:
        __import__("autograder.reference")
        found["reference"] = "imported"
    except (ImportError, PermissionError) as error:
        found["reference"] = f"{type(error).__name__}: {error}"
    return found


def test_student_code_finds_none_of_the_graders_modules(monkeypatch):
    """The child purges every module of the package from ``sys.modules`` before student code runs."""
    assert "autograder.grading.sandbox" in sys.modules  # what there is to purge
    probe = SimpleNamespace(item="probe", prepare=lambda: None, observe=_look_around)
    monkeypatch.setitem(sandbox.CHECKS, "probe", probe)
    outcome = sandbox.observe_isolated([probe], Submission(answers={}, code_cells=[]), timeout_s=60, cpu_s=20)
    found = outcome["probe"]["observations"]
    assert found["modules"] == []
    assert found["reference"].startswith(("ImportError", "PermissionError")), found["reference"]
