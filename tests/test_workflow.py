"""The instructor's workflow end to end with real nbgrader runs: an LMS zip collected, autograded in
parallel, graded by hand, exported to the 42-point score sheet, feedback made, and graded again.

Five students (autograder.course.demo.STUDENTS): the reference, the blank release, two with seeded mistakes
and one whose kernel dies midway; then one whose notebook runs past the time limit. The auto points
are the independent grader's: a run that stops midway changes none of them, and is flagged.
"""

import csv

import nbformat
import pytest

from autograder.course import coursedir, demo
from autograder.course.plugins.grading_rules import is_rules_cell
from autograder.rubric import AUTO, MANUAL, TEST_CELLS

from .conftest import ROOT
from .support.workflow import EXPECTED_AUTO, STUDENTS, ZOE, a12, export, points


@pytest.fixture(scope="module")
def graded(tmp_path_factory, mnist_root):
    """The course after `a12 collect` of the LMS zip, `a12 autograde`, and a grader's work on ada and noah."""
    folder = tmp_path_factory.mktemp("workflow")
    root = demo.build_course(folder / "course", ROOT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_ROOT", str(mnist_root))
        a12(root, "collect", demo.lms_zip(root, demo.STUDENTS, folder / "download.zip"), "--names", "canvas")
        a12(root, "autograde", "--workers", 2)
        demo.grade_by_hand(coursedir.db_url(root), "ada")
        demo.grade_by_hand(coursedir.db_url(root), "noah", {"answer_12_2b_interpret_noisy_images": 1})
        yield root


def test_exported_points_per_item(graded):
    rows = export(graded)
    assert sorted(rows) == sorted(STUDENTS)
    for student, expected in EXPECTED_AUTO.items():
        assert {item: float(points(rows[student], item)) for item in AUTO} == expected, student
    assert {points(rows["ada"], item) for item in MANUAL} == {"1", "2", "3"} and rows["ada"]["total (42)"] == "42"
    assert points(rows["noah"], "12.2b") == "1" and rows["noah"]["total (42)"] == str(42 - 1 - 1 - 1)
    assert rows["noah"]["12.2 total (4)"] == "3" and rows["noah"]["12.6 total (9)"] == "8"
    for student in ("mia", "leo"):  # answered, not graded by hand yet
        assert {points(rows[student], item) for item in MANUAL} == {"ungraded"}
        assert rows[student]["total (42)"] == "ungraded" and rows[student]["status"] == "23 items (29 points) to grade"
    assert rows["mia"]["graded so far"] == "12" and rows["leo"]["graded so far"] == "13"
    assert {points(rows["bob"], item) for item in MANUAL} == {"0"}  # nbgrader: no response, 0 points
    assert rows["bob"]["total (42)"] == "0" and rows["bob"]["status"] == "complete"
    assert [s for s in STUDENTS if rows[s]["flagged"]] == ["leo"]
    html = (graded / "export" / "assignment12-summary.html").read_text()
    assert "<td>12.8f</td><td>nbgrader</td><td class='n'>1</td><td class='n'>0.60</td><td class='n'>5</td>" in html


def test_grades_go_to_canvas_by_user_id(graded):
    """`a12 export --lms canvas`: Canvas's import layout, the user ids from the zip's names, the totals."""
    a12(graded, "export", "--lms", "canvas")
    with open(graded / "export" / "assignment12-canvas.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 12"]
    assert rows[1][0] == "Points Possible" and rows[1][-1] == "42"
    ids = {s.name: str(1000 + number) for number, s in enumerate(demo.STUDENTS, start=1)}
    assert {row[1]: row[-1] for row in rows[2:]} == {
        ids["ada"]: "42",
        ids["noah"]: "39",
        ids["bob"]: "0",
        ids["mia"]: "",
        ids["leo"]: "",
    }


def test_the_kernel_death_is_explained_in_the_test_cells(graded):
    nb = nbformat.read(graded / "autograded/leo/assignment12/assignment12.ipynb", as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_12_8g_sample_every_digit"
    )
    assert "kernel died" in cell.outputs[0].text and cell.outputs[-1].data["text/plain"] == "1.0"


def test_graders_see_the_rules_and_feedback_does_not(graded, capsys):
    nb = nbformat.read(graded / "autograded/mia/assignment12/assignment12.ipynb", as_version=4)
    assert sum(is_rules_cell(c) for c in nb.cells) == 23
    a12(graded, "feedback")
    warnings = capsys.readouterr().err
    assert "mia: 23 items (29 points) to grade" in warnings and "ada" not in warnings
    for student in STUDENTS:
        page = (graded / "feedback" / student / "assignment12" / "assignment12.html").read_text()
        assert "Grading rules" not in page and "1 point for describing the forward process" not in page


def test_a_notebook_past_the_time_limit_keeps_its_points_with_the_reason(graded, tmp_path):
    (tmp_path / "zoe.ipynb").write_text(nbformat.writes(demo.student_notebook(graded, ZOE)))
    a12(graded, "collect", tmp_path)
    a12(graded, "autograde", "--student", "zoe", "--timeout", 20)
    row = export(graded)["zoe"]
    assert {item: float(points(row, item)) for item in AUTO} == AUTO and row["flagged"] == "yes"
    nb = nbformat.read(graded / "autograded/zoe/assignment12/assignment12.ipynb", as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    assert all("time limit of 20 s" in c.outputs[0].text for c in tests)


def without_cells(nb: nbformat.NotebookNode, grade_ids) -> nbformat.NotebookNode:
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def test_deleted_test_cells_are_restored_and_earn_the_points_of_the_code(graded, tmp_path):
    """ivy deleted every hidden-test cell, max three of them and a written answer (a cell that stock
    nbgrader 0.9.6 cannot put back): the cells come back, with a note, and the code earns every point."""
    some = ["test_12_2a_closed_form_noisy_images", "test_12_5c_training_loss", "test_12_8g_sample_every_digit"]
    ada = demo.STUDENTS[0]
    notebooks = {
        "ivy": without_cells(demo.student_notebook(graded, ada), set(TEST_CELLS)),
        "max": without_cells(demo.student_notebook(graded, ada), {*some, "answer_12_5b_loss_compares"}),
    }
    for student, nb in notebooks.items():
        (tmp_path / f"{student}.ipynb").write_text(nbformat.writes(nb))
    a12(graded, "collect", tmp_path)
    a12(graded, "autograde", "--student", "ivy", "--student", "max")
    rows = export(graded)
    for student, deleted in (("ivy", sorted(TEST_CELLS)), ("max", some)):
        assert {item: float(points(rows[student], item)) for item in AUTO} == AUTO, student
        items = ", ".join(TEST_CELLS[cell] for cell in sorted(deleted, key=list(TEST_CELLS).index))
        assert f"test cells deleted from the notebook were restored: {items}" in rows[student]["autograding notes"]
        nb = nbformat.read(graded / f"autograded/{student}/assignment12/assignment12.ipynb", as_version=4)
        tests = {
            c.metadata.nbgrader["grade_id"]: c
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") in TEST_CELLS
        }
        assert set(tests) == set(TEST_CELLS), student
        for grade_id, cell in tests.items():
            assert ("it was restored from the assignment" in cell.outputs[0].text) == (grade_id in deleted)


def test_grading_again_gives_identical_scores_and_keeps_the_manual_grades(graded):
    before = export(graded)
    a12(graded, "autograde", "--force", *[arg for s in STUDENTS for arg in ("--student", s)])
    after = export(graded)
    assert {s: after[s] for s in STUDENTS} == {s: before[s] for s in STUDENTS}
