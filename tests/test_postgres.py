"""A PostgreSQL gradebook, on a real server started by the tests (tests/support/postgres.py): the instructor's
workflow with every a12 command, a merge and a grader writing at the same time, and two graders in
formgrader while autograding merges."""

import csv
import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from nbgrader.api import Gradebook

from autograder import ASSIGNMENT
from autograder.course import cli, coursedir, gradebook
from autograder.rubric import AUTO as AUTO_ITEMS
from autograder.rubric import MANUAL, RUBRIC

from .conftest import ROOT
from .support.gradebooks import AUTO_CELL, MANUAL_CELL, autograded, grades
from .support.jupyterlab import JupyterLab
from .support.workflow import EXPECTED_AUTO, STUDENTS, a12, points


@pytest.fixture(scope="module")
def demo_course(tmp_path_factory, mnist_root, postgres):
    """`a12 demo --db-url` on a new PostgreSQL database: release, collect, autograde, a grader's scores."""
    folder = tmp_path_factory.mktemp("postgres-demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_ROOT", str(mnist_root))
        assert (
            cli.main(
                ["--course", str(ROOT), "demo", "--dir", str(folder), "--workers", "2", "--db-url", postgres.database()]
            )
            == 0
        )
        yield folder / "course"


def test_every_a12_command_works_on_a_postgresql_gradebook(demo_course, capsys):
    assert coursedir.db_url(demo_course).startswith("postgresql+psycopg://")
    assert not (demo_course / "gradebook.db").exists()
    a12(demo_course, "export")
    with open(demo_course / "export" / "assignment12-scores.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    for student, expected in EXPECTED_AUTO.items():
        assert {item: float(points(rows[student], item)) for item in AUTO_ITEMS} == expected, student
    assert rows["ada"]["total (42)"] == "42"
    a12(demo_course, "feedback")
    assert all((demo_course / "feedback" / s / "assignment12" / "assignment12.html").is_file() for s in STUDENTS)
    capsys.readouterr()
    a12(demo_course, "regrade", "--student", "mia")  # the gradebook's scores, found again outside nbgrader
    assert capsys.readouterr().out.endswith(
        "1 submissions re-graded; 0 item scores differ from the gradebook (--apply writes them)\n"
    )


def test_a_merge_and_a_grader_writing_at_once_lose_nothing(tmp_path, gradebook_url, postgres):
    url = coursedir.with_driver(postgres.database())
    gradebook.definition_copy(gradebook_url, url)
    worker = f"sqlite:///{tmp_path / 'worker.db'}"
    gradebook.definition_copy(gradebook_url, worker)
    autograded(worker, "ada", {AUTO_CELL: 1.0})
    gradebook.merge_autograde(url, worker, "ada")
    autograded(worker, "ada", {AUTO_CELL: 2.0})  # graded again while a grader is at work in formgrader
    with Gradebook(url) as grader, ThreadPoolExecutor(1) as pool:
        for grade in grader.find_submission("assignment12", "ada").notebooks[0].grades:
            if grade.name in (AUTO_CELL, MANUAL_CELL):
                grade.manual_score, grade.needs_manual_grade = 1.5, False
        grader.db.flush()  # the grader's scores are written, not yet committed
        merge = pool.submit(gradebook.merge_autograde, url, worker, "ada")
        time.sleep(1)
        assert not merge.done()  # the merge waits for the grader's rows
        grader.db.commit()
        assert merge.result(timeout=60) == 2.0
    scores, _, _ = grades(url, "ada")
    # both writers' values, and nbgrader's rule as if one came after the other: a manual score is to be reviewed
    assert scores[AUTO_CELL] == (2.0, 1.5, None, True)
    assert scores[MANUAL_CELL] == (None, 1.5, None, True)


MANUAL_CELLS = {RUBRIC[item].grade_cell for item in MANUAL}


def put_grade(lab: JupyterLab, grade_id: str, score: float) -> dict:
    """What formgrader's page sends when a grader enters a score: PUT /formgrader/api/grade/<id>."""
    request = urllib.request.Request(
        lab.url(f"formgrader/api/grade/{grade_id}"),
        data=json.dumps({"manual_score": score, "extra_credit": None}).encode(),
        method="PUT",
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def test_two_graders_in_formgrader_and_merges_at_once_lose_nothing(demo_course, tmp_path):
    """Two teaching assistants, each in a formgrader of their own (two Jupyter servers) on the shared
    PostgreSQL gradebook, score the free-text answers of mia and noah one by one while autograde results
    for mia are merged again and again: every score of both ends up in the gradebook, those given
    between merges too, and mia's auto points are the merged ones."""
    url = coursedir.db_url(demo_course)
    with Gradebook(url) as gb:
        manual = {
            student: [
                g.id for g in gb.find_submission(ASSIGNMENT, student).notebooks[0].grades if g.name in MANUAL_CELLS
            ]
            for student in ("mia", "noah")
        }
    worker = f"sqlite:///{tmp_path / 'worker.db'}"
    gradebook.definition_copy(url, worker)
    autograded(worker, "mia", {AUTO_CELL: 1.0})  # what a worker's nbgrader autograde of mia left
    env = coursedir.nbgrader_env()
    config = f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n"
    (tmp_path / "exchange").mkdir()
    grading = threading.Event()

    def merge_while_grading() -> int:
        merges = 0
        while grading.is_set() or not merges:
            assert gradebook.merge_autograde(url, worker, "mia") == 1.0
            merges += 1
        return merges

    def grade(lab: JupyterLab, student: str, score: float) -> None:
        for grade_id in manual[student]:
            assert put_grade(lab, grade_id, score)["manual_score"] == score
            time.sleep(0.2)

    with (
        JupyterLab(demo_course, env, tmp_path / "ta1", nbgrader_config=config) as ta1,
        JupyterLab(demo_course, env, tmp_path / "ta2", nbgrader_config=config) as ta2,
        ThreadPoolExecutor(3) as pool,
    ):
        grading.set()
        merges = pool.submit(merge_while_grading)
        graders = [pool.submit(grade, ta1, "mia", 1.0), pool.submit(grade, ta2, "noah", 0.5)]
        try:
            for grader in graders:
                grader.result(timeout=300)
        finally:  # a grader that fails stops the merges too, so the pool can close and the failure shows
            grading.clear()
        assert merges.result(timeout=300) >= 5  # merges came between the graders' scores
    with Gradebook(url) as gb:
        for student, score in (("mia", 1.0), ("noah", 0.5)):
            grades_of = gb.find_submission(ASSIGNMENT, student).notebooks[0].grades
            assert {g.id: g.manual_score for g in grades_of if g.name in MANUAL_CELLS} == dict.fromkeys(
                manual[student], score
            ), student
        auto = {
            g.name: g.auto_score
            for g in gb.find_submission(ASSIGNMENT, "mia").notebooks[0].grades
            if g.name not in MANUAL_CELLS
        }
        assert auto == {
            RUBRIC[item].grade_cell: (1.0 if RUBRIC[item].grade_cell == AUTO_CELL else 0.0) for item in AUTO_ITEMS
        }
