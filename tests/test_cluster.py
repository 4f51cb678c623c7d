"""`a12 autograde --scheduler` on a real Dask cluster on localhost, started by the tests: a `dask
scheduler` and two `dask worker` processes. One worker is killed mid-batch; every student's exported
points are those of grading on one machine (tests/test_workflow.py). A submission that kills its
workers is stopped after its tries and graded 0. A submission past its memory budget is ended by its
cgroup on the worker's machine, as on one machine (tests/test_budget.py)."""

import csv
import os
import signal
import threading
import time
from contextlib import contextmanager

import nbformat
import psutil
import pytest

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import autograde, budget, cli, demo
from autograder.course.plugins.grading_rules import is_rules_cell
from autograder.rubric import AUTO

from .conftest import ROOT, unavailable
from .support.gradebooks import auto_scores
from .support.hostile import FULL
from .support.workflow import EXPECTED_AUTO, points
from .test_budget import HOG, MEMORY, SMALL
from .test_integrity import auto_points

EVE = demo.DemoStudent("eve", "the reference answers, a second time")


@contextmanager
def poison(student: str):
    """While it lasts, grading ``student`` kills the Dask worker that grades it, as a submission that
    brings its worker down would (student code cannot: its jail shows it no other process). The
    jail of the student's kernel names the student's folder; the worker is the warm server's parent."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            for process in psutil.process_iter(["cmdline"]):
                command = process.info["cmdline"] or []
                if command[:1] == ["bwrap"] and any(f"/autograded/{student}/" in part for part in command):
                    try:  # (processes end while we look)
                        warm = [p for p in process.parents() if "autograder.course.warm" in " ".join(p.cmdline())]
                        if warm:
                            os.kill(warm[-1].ppid(), signal.SIGKILL)
                    except (psutil.Error, ProcessLookupError):
                        pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


@pytest.fixture(scope="module")
def cluster(mnist_root):
    """A scheduler and two one-thread workers on 127.0.0.1, separate processes: the address and the workers."""
    try:
        from autograder.course import cluster as dask_cluster
    except ImportError:
        unavailable("Dask is not installed (pip install -e '.[test]')")
    with dask_cluster.on_localhost(2, dict(os.environ, MNIST_ROOT=str(mnist_root), A12_THREADS="1")) as running:
        yield running


@pytest.fixture(scope="module")
def course(tmp_path_factory, mnist_root):
    root = demo.build_course(tmp_path_factory.mktemp("cluster") / "course", ROOT)
    for student in [*demo.STUDENTS, EVE]:
        path = root / "submitted" / student.name / ASSIGNMENT / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(demo.student_notebook(root, student), path)
    return root


def test_a_worker_killed_mid_batch_loses_nothing_and_the_points_are_those_of_one_machine(course, cluster):
    address, workers = cluster
    lines = []

    def progress(line):
        lines.append(line)
        if len(lines) == 4:  # three submissions are graded; both workers are grading others
            os.killpg(workers[0].pid, signal.SIGKILL)

    start = time.monotonic()
    outcomes = autograde.autograde(course, scheduler=address, progress=progress)
    print(f"6 submissions on 2 Dask workers, one killed: {time.monotonic() - start:.0f} s")
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert lines[0].startswith(f"autograding 6 submissions on the Dask cluster at {address} (2 workers")
    assert sorted(line.split("] ")[1].split()[0] for line in lines[1:]) == [f"{n}/6" for n in range(1, 7)]
    assert [o.student for o in outcomes] == ["ada", "bob", "eve", "leo", "mia", "noah"]
    assert cli.main(["--course", str(course), "export"]) == 0
    with open(course / "export" / "assignment12-scores.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    for student, expected in {**EXPECTED_AUTO, "eve": EXPECTED_AUTO["ada"]}.items():
        assert {item: float(points(rows[student], item)) for item in AUTO} == expected, student
    assert [s for s in rows if rows[s]["flagged"]] == ["leo"]
    graded = nbformat.read(course / "autograded" / "leo" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert any("kernel died" in output.get("evalue", "") for cell in graded.cells for output in cell.get("outputs", []))
    assert sum(is_rules_cell(c) for c in graded.cells) == 23  # graders see the grading rules, as on one machine


def test_a_submission_that_kills_its_workers_is_stopped_after_its_tries(course, cluster):
    notebook = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    path = course / "submitted" / "pat" / ASSIGNMENT / NOTEBOOK
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    with poison("pat"):
        (outcome,) = autograde.autograde(course, ["pat"], scheduler=cluster[0], tries=2, progress=lambda line: None)
    assert outcome.status == "not graded" and "ended 2 Dask workers" in outcome.problem
    scores, flagged = auto_scores(course, "pat")
    assert len(scores) == 9 and set(scores.values()) == {0} and flagged


@pytest.mark.skipif(budget.mechanism() == "rlimits", reason="no writable memory and pids cgroups here (root only)")
def test_a_submission_past_its_memory_budget_is_ended_on_its_worker_and_keeps_its_points(course, cluster):
    """A Dask task grades within the submission's budget, as the local pool does (``job.grade_within``):
    a kernel that allocates past a small memory budget is ended by its cgroup on the worker's machine."""
    path = course / "submitted" / "hog" / ASSIGNMENT / NOTEBOOK
    path.parent.mkdir(parents=True)
    nbformat.write(demo.student_notebook(course, demo.DemoStudent("hog", "", added={"imports": HOG})), path)
    lines = []
    (outcome,) = autograde.autograde(course, ["hog"], scheduler=cluster[0], budget_of=SMALL, progress=lines.append)
    assert f"{budget.size_text(MEMORY)} of memory per submission, budgets by cgroup v" in lines[0]
    assert outcome.status == "graded"
    assert f"the notebook used more than {budget.size_text(MEMORY)} of memory" in outcome.problem
    assert "jails held at most" in outcome.log.read_text()  # the cgroup's peak, written on the worker
    assert auto_points(course, "hog") == FULL  # the grader judged its code
    # no cgroup of the workers' is left (beside theirs on this machine; other batches may have some there)
    workers = {p.pid for w in cluster[1] if w.poll() is None for p in psutil.Process(w.pid).children(recursive=True)}
    for controller in ("memory", "pids"):
        parent = budget._own(controller)
        left = [f for f in parent.glob("a12-hog-*") if int(f.name.rsplit("-", 2)[-2]) in workers] if parent else []
        assert not left
