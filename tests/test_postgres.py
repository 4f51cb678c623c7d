"""A PostgreSQL gradebook, on a real server started by the tests (tests/postgres.py): the instructor's
workflow with every a12 command, and a merge and a grader writing at the same time."""

import csv
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from nbgrader.api import Gradebook

from autograder.course import cli, coursedir, gradebook
from autograder.rubric import AUTO as AUTO_ITEMS

from .conftest import ROOT
from .support.gradebooks import AUTO_CELL, MANUAL_CELL, autograded, grades
from .support.workflow import EXPECTED_AUTO, STUDENTS, points


def a12(root, *args):
    assert cli.main(["--course", str(root), *map(str, args)]) == 0


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
