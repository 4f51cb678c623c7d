"""The committed release and solution are what `a12 release` makes from the source, and the
release gives nothing away."""

import json
import os
import re

import nbformat
import pytest

from autograder.course import coursedir

from .conftest import RELEASE, ROOT, SOLUTION, SOURCE, nbgrader_cells


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Run the release command in a scratch copy of the course."""
    import shutil

    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source", root / "source", ignore=shutil.ignore_patterns("data", ".ipynb_checkpoints"))
    coursedir.release(root)
    return root


def test_release_is_up_to_date(regenerated):
    """Fails when the source changed and `a12 release` was not run."""
    fresh = regenerated / "release" / "assignment12"
    assert json.loads((fresh / "assignment12.ipynb").read_text()) == json.loads(RELEASE.read_text())
    committed = {p.name: p.read_bytes() for p in RELEASE.parent.iterdir()}
    assert {p.name: p.read_bytes() for p in fresh.iterdir() if p.name != "assignment12.ipynb"} == {
        k: v for k, v in committed.items() if k != "assignment12.ipynb"
    }


def test_solution_is_up_to_date(regenerated):
    fresh = nbformat.read(regenerated / "solutions" / "assignment12.ipynb", as_version=4)
    assert coursedir.sources_of(nbformat.read(SOLUTION, as_version=4)) == coursedir.sources_of(fresh)


def answer_regions(path) -> list[str]:
    """The text between the answer markers of every cell of the source notebook."""
    regions = []
    for cell in nbgrader_cells(path):
        regions += re.findall(r"### BEGIN ANSWER\n(.*?)### END ANSWER", "".join(cell["source"]), re.S)
    return regions


def test_release_holds_no_answers_rules_or_hidden_tests():
    text = RELEASE.read_text()
    for marker in ("BEGIN ANSWER", "END ANSWER", "HIDDEN TESTS", "Grading:", "score(", "autograder"):
        assert marker not in text
    release_lines = {
        line.strip() for cell in json.loads(text)["cells"] for line in "".join(cell["source"]).splitlines()
    }
    regions = answer_regions(SOURCE)
    assert len(regions) == 14 + 23  # regions in the 12 code answer cells, and the 23 free-text answers
    source_text = "\n".join("".join(c["source"]) for c in json.loads(SOURCE.read_text())["cells"])
    outside = {
        line.strip()
        for line in re.sub(r"### BEGIN ANSWER\n.*?### END ANSWER", "", source_text, flags=re.S).splitlines()
    }
    answer_lines = {line.strip() for region in regions for line in region.splitlines()} - outside - {""}
    assert len(answer_lines) > 80
    assert not answer_lines & release_lines


def test_release_has_every_question_with_a_stub():
    source = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nbgrader_cells(SOURCE)}
    release = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nbgrader_cells(RELEASE)}
    assert source.keys() == release.keys()
    for grade_id, cell in release.items():
        meta = cell["metadata"]["nbgrader"]
        text = "".join(cell["source"])
        if meta.get("solution"):
            stub = "YOUR ANSWER HERE" if cell["cell_type"] == "markdown" else "raise NotImplementedError()"
            assert stub in text, grade_id
        elif cell["cell_type"] == "markdown" or not meta.get("grade"):
            assert text == "".join(source[grade_id]["source"]), grade_id
    for cell in json.loads(RELEASE.read_text())["cells"]:
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None


def test_release_ships_the_requirements():
    requirements = (RELEASE.parent / "requirements.txt").read_text()
    for package in ("torch", "torchvision", "matplotlib"):
        assert re.search(rf"^{package}\b", requirements, re.M)


def test_release_ships_a_validate_config_with_the_course_cell_timeout(monkeypatch):
    """Students' Validate gets the per-cell time limit that grading has, not nbgrader's 30 s, and a kernel
    whose threads wait by sleeping (``python -m benchmarks.validate_time`` measures why)."""
    monkeypatch.setenv("OMP_WAIT_POLICY", "")  # (undone after the test, whatever the config sets)
    monkeypatch.delenv("OMP_WAIT_POLICY")
    student = coursedir.course_config(RELEASE.parent)
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert student.Execute.timeout == coursedir.course_config(ROOT).Execute.timeout >= 300
    assert "jupyter lab" in (RELEASE.parent / "README.md").read_text()
