"""Benchmark: a class of many students through everything around grading, at full scale.

    python -m benchmarks.class_scale --students 10000
    python -m benchmarks.class_scale --students 2000 --task-s 0.05 --workers 2 --db sqlite

**The notebook runs and checks are replaced by a stand-in task** (``stand_in_task``: it sleeps
``--task-s`` seconds on a Dask worker and returns what a worker's grading returns: the student's
results in an SQLite gradebook, every auto-graded item 1 point, and the notebook as the autograded
file). It measures the pipeline, not grading. The stages, each timed:

- collect: ``a12 collect --names canvas`` from an LMS zip of ``--students`` notebooks;
- autograde: ``a12 autograde --scheduler`` on a local Dask cluster (``--workers`` one-thread workers),
  its merge (``autograde.record``: reading each worker's gradebook and autograded notebook, writing
  the gradebook) timed on its own, and merges per second;
- export: ``a12 export`` (the score sheet CSV, the HTML summary, the table it prints);
- regrade: ``a12 regrade``'s reading of the gradebook (its comparison of every student), with a
  stand-in report for each notebook instead of its re-grading.

Into SQLite, and into PostgreSQL (a throwaway server, as the tests start).
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from distributed import WorkerPlugin

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import autograde, cli, cluster, collect, coursedir, demo, regrade
from autograder.course.cluster import Graded
from autograder.report import Report
from autograder.rubric import AUTO
from benchmarks import merge_speed
from tests.support import postgres

REPO = Path(__file__).resolve().parent.parent


class StandInWorker(WorkerPlugin):
    """Instead of ``cluster.WarmWorker``: nothing to set up (no warm server, no MNIST, no budgets)."""

    idempotent = True
    budget_kind = "nothing (stand-in tasks)"

    def __init__(self, warnings: str):
        self.warnings = warnings


def stand_in_task(
    student: str,
    notebook: bytes,
    timestamp: bytes | None,
    release: dict[str, bytes],
    timeout_s: float,
    options: tuple[str, ...] = (),
    budget_of: dict[str, int] | None = None,
) -> Graded:
    """Instead of ``cluster.grade_task``, on a worker: sleep, then return what grading returns (see above).
    ``A12_STAND_IN_DB``: a worker gradebook of student s00000; ``A12_STAND_IN_S``: the seconds to sleep."""
    start = time.monotonic()
    time.sleep(float(os.environ["A12_STAND_IN_S"]))
    with tempfile.TemporaryDirectory(prefix="a12-stand-in-") as folder:
        template = Path(os.environ["A12_STAND_IN_DB"]).read_bytes()
        db = merge_speed.renamed(template, student, Path(folder)).read_bytes()
    return Graded([(0, time.monotonic() - start)], "", "stand-in task: nothing graded\n", db, {NOTEBOOK: notebook})


def lms_zip(notebook: bytes, students: int, path: Path) -> Path:
    """Canvas's download of ``students`` submissions (the same notebook each): ``s00001_<user id>_<id>_...``."""
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(1, students + 1):
            archive.writestr(f"s{number:05d}_{1000 + number}_{52000 + number}_{NOTEBOOK}", notebook)
    return path


@contextlib.contextmanager
def patched(module, name: str, value):
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def course(folder: Path, students: int, db_url: str | None) -> tuple[Path, Path, Path]:
    """A released course (its gradebook at ``db_url``, default SQLite), a worker gradebook to copy for
    the stand-in tasks, and an LMS zip of ``students`` submissions."""
    root = demo.build_course(folder / "course", REPO, db_url)
    template = merge_speed.worker_gradebook(coursedir.db_url(root), folder)
    notebook = (root / "release" / ASSIGNMENT / NOTEBOOK).read_bytes()
    return root, template, lms_zip(notebook, students, folder / "download.zip")


@contextlib.contextmanager
def stand_in_cluster(workers: int, template: Path, task_s: float) -> Iterator[str]:
    """A local Dask cluster whose ``a12 autograde`` runs stand-in tasks; yield its address."""
    env = dict(os.environ, A12_STAND_IN_DB=str(template), A12_STAND_IN_S=str(task_s), PYTHONPATH=str(REPO))
    with (
        cluster.on_localhost(workers, env) as (address, _),
        patched(cluster, "grade_task", stand_in_task),
        patched(cluster, "WarmWorker", StandInWorker),
    ):
        yield address


def rehearse(folder: Path, students: int, workers: int, task_s: float, db_url: str | None) -> dict[str, float]:
    """Every stage for one gradebook; the seconds of each."""
    seconds: dict[str, float] = {}
    start = time.monotonic()
    root, template, download = course(folder, students, db_url)
    seconds["set-up (course, zip)"] = time.monotonic() - start

    start = time.monotonic()
    collect.collect(root, download, names="canvas")
    seconds["collect"] = time.monotonic() - start

    merging = [0.0]
    record = autograde.record

    def timed_record(*args):
        begin = time.monotonic()
        try:
            return record(*args)
        finally:
            merging[0] += time.monotonic() - begin

    lines: list[str] = []
    with stand_in_cluster(workers, template, task_s) as address, patched(autograde, "record", timed_record):
        start = time.monotonic()
        outcomes = autograde.autograde(root, scheduler=address, confined=False, progress=lines.append)
        seconds["autograde (Dask, stand-in tasks)"] = time.monotonic() - start
    seconds["  of which the merge"] = merging[0]
    graded = sum(o.status == "graded" for o in outcomes)
    if graded != students:
        raise RuntimeError(f"{graded} of {students} graded: {[o for o in outcomes if o.status != 'graded'][:3]}")
    print(f"    progress: {len(lines)} lines; the last: {lines[-1]}", flush=True)

    start = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["--course", str(root), "export"]) == 0
    seconds["export"] = time.monotonic() - start

    start = time.monotonic()
    stand_in = Report.of_zeros(AUTO, "stand-in report: nothing re-graded")
    with patched(regrade, "grade_in_fresh_process", lambda notebook: stand_in):
        reports, differences = regrade.regrade(root, coursedir.db_url(root), progress=lambda line: None)
    seconds["regrade's reading of the gradebook"] = time.monotonic() - start
    assert len(reports) == students and len(differences) == students * len(AUTO)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2, help="one-thread Dask workers (default 2)")
    parser.add_argument("--task-s", type=float, default=0.0, help="seconds of each stand-in task (default 0)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    print(
        f"{args.students} students, {args.workers} Dask workers; STAND-IN TASKS of {args.task_s:g} s instead of "
        "grading: this measures the pipeline around grading, not grading",
        flush=True,
    )
    server = None
    try:
        for name in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            db_url = None
            if name == "postgresql":
                if postgres.binaries() is None:
                    print("PostgreSQL: not installed, not measured")
                    continue
                server = postgres.Server(postgres.binaries())
                db_url = server.database()
            with tempfile.TemporaryDirectory(prefix="a12-class-") as folder:
                print(f"{name}:", flush=True)
                seconds = rehearse(Path(folder), args.students, args.workers, args.task_s, db_url)
            for stage, spent in seconds.items():
                print(f"  {stage}: {spent:.1f} s", flush=True)
            print(f"  merges/s in autograde: {args.students / seconds['  of which the merge']:.0f}", flush=True)
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
