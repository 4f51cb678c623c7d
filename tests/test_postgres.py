"""A PostgreSQL gradebook, on a real server started by the tests (tests/support/postgres.py): the instructor's
workflow with every a12 command, a merge and a grader writing at the same time, and two graders in
formgrader while autograding merges."""

import csv
import json
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


def test_two_graders_in_formgrader_and_autograding_at_once_lose_nothing(demo_course, tmp_path, mnist_root):
    """Two teaching assistants, each in a formgrader of their own (two Jupyter servers) on the shared
    PostgreSQL gradebook, score the free-text answers of mia and noah one by one while `a12 autograde
    --force` grades mia again and merges her: every score of both ends up in the gradebook, those given
    before the merge too, and the auto points are the autograder's."""
    url = coursedir.db_url(demo_course)
    with Gradebook(url) as gb:
        manual = {
            student: {
                g.id: g.name
                for g in gb.find_submission(ASSIGNMENT, student).notebooks[0].grades
                if g.name in MANUAL_CELLS
            }
            for student in ("mia", "noah")
        }
    env = dict(coursedir.nbgrader_env(), MNIST_ROOT=str(mnist_root))
    config = f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n"
    (tmp_path / "exchange").mkdir()
    with (
        JupyterLab(demo_course, env, tmp_path / "ta1", nbgrader_config=config) as ta1,
        JupyterLab(demo_course, env, tmp_path / "ta2", nbgrader_config=config) as ta2,
        ThreadPoolExecutor(3) as pool,
    ):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MNIST_ROOT", str(mnist_root))
            merge = pool.submit(cli.main, ["--course", str(demo_course), "autograde", "--force", "--student", "mia"])

            def grade(lab: JupyterLab, student: str, score: float) -> tuple[int, int]:
                """Score each answer once, one a second while the autograde runs: how many before it ended, after."""
                before = after = 0
                for grade_id in manual[student]:
                    if not merge.done():
                        time.sleep(1)
                    done = merge.done()
                    assert put_grade(lab, grade_id, score)["manual_score"] == score
                    before, after = before + (not done), after + done
                return before, after

            graders = [pool.submit(grade, ta1, "mia", 1.0), pool.submit(grade, ta2, "noah", 0.5)]
            assert merge.result(timeout=600) == 0
            counts = [g.result(timeout=600) for g in graders]
    # the autograde's merge came while both graders were at work: some scores were written before it
    assert all(before > 0 for before, _ in counts), counts
    with Gradebook(url) as gb:
        for student, score in (("mia", 1.0), ("noah", 0.5)):
            grades_of = {g.name: g for g in gb.find_submission(ASSIGNMENT, student).notebooks[0].grades}
            assert {name: grades_of[name].manual_score for name in manual[student].values()} == dict.fromkeys(
                manual[student].values(), score
            ), student
            auto = {RUBRIC[item].grade_cell: grades_of[RUBRIC[item].grade_cell].auto_score for item in AUTO_ITEMS}
            assert auto == {RUBRIC[item].grade_cell: float(p) for item, p in EXPECTED_AUTO[student].items()}, student
