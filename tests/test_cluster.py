"""`a12 autograde --scheduler` on a real Dask cluster on localhost, started by the tests: a `dask
scheduler` and two `dask worker` processes. One worker is killed mid-batch; every student's exported
points are those of grading on one machine (tests/test_workflow.py). A submission that kills its
workers is stopped after its tries and graded 0."""
import csv
import os
import signal
import socket
import subprocess
import sys
import time

import nbformat
import pytest

from autograder import ASSIGNMENT, NOTEBOOK, batch, cli, demo

from .conftest import ROOT, unavailable
from .test_batch import auto_scores
from .test_rubric import AUTO
from .test_workflow import EXPECTED_AUTO, points

EVE = demo.DemoStudent("eve", "the reference answers, a second time")
# Student code that kills the Dask worker grading it: the parent of the warm server (autograder.warm).
POISON = ("import os, signal, psutil\n"
          "warm = [p for p in psutil.Process().parents() if 'autograder.warm' in p.cmdline()]\n"
          "os.kill(warm[-1].ppid(), signal.SIGKILL)\n"
          "os._exit(1)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask(*args: str, env: dict[str, str]) -> subprocess.Popen:
    """`dask <args>` in a session of its own (a worker's nanny and worker process die together)."""
    return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def cluster(mnist_root):
    """A scheduler and two one-thread workers on 127.0.0.1: the scheduler's address and the workers."""
    try:
        from distributed import Client
    except ImportError:
        unavailable("Dask is not installed (pip install -e '.[test]')")
    address = f"tcp://127.0.0.1:{free_port()}"
    env = dict(os.environ, MNIST_ROOT=str(mnist_root), OMP_NUM_THREADS="1")
    processes = [dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                      "--dashboard-address", ":0", env=env)]
    workers = [dask("worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--dashboard-address", ":0",
                    "--memory-limit", "0", env=env) for _ in range(2)]
    processes += workers
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address, workers
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


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
        if len(lines) == 2:  # the first submission is graded; both workers are grading others
            os.killpg(workers[0].pid, signal.SIGKILL)

    start = time.monotonic()
    outcomes = batch.autograde(course, scheduler=address, progress=progress)
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


def test_a_submission_that_kills_its_workers_is_stopped_after_its_tries(course, cluster):
    notebook = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(POISON))
    path = course / "submitted" / "pat" / ASSIGNMENT / NOTEBOOK
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    (outcome,) = batch.autograde(course, ["pat"], scheduler=cluster[0], tries=2, progress=lambda line: None)
    assert outcome.status == "not graded" and "ended 2 Dask workers" in outcome.problem
    scores, flagged = auto_scores(course, "pat")
    assert len(scores) == 9 and set(scores.values()) == {0} and flagged
