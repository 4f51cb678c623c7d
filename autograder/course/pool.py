"""The local engine of ``a12 autograde``: warm worker processes on this machine (``autograder.course.warm``),
each running the per-student job (``autograder.course.job``) of one student at a time."""

import tempfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from autograder.course import budget, gradebook, warm
from autograder.course.job import Finished, grade_within


def graded(
    root: Path,
    db_url: str,
    students: list[str],
    workers: int,
    env: dict[str, str],
    timeout_s: float,
    options: tuple[str, ...] = (),
    limits: budget.Limits | None = None,
) -> Finished:
    """Grade ``students`` in warm workers on this machine, each within its budget (``limits``); yield the
    students that finished since the last yield (at least one), each with how to get the attempt."""
    with (
        tempfile.TemporaryDirectory(prefix="a12-autograde-") as work,
        warm.Server(Path(work), env) as server,
        ThreadPoolExecutor(workers) as pool,
    ):
        base_db = Path(work) / "gradebook.db"
        gradebook.worker_base(db_url, base_db)
        limits = limits or budget.Limits(budget.Budget(), budget.mechanism())
        futures = {
            pool.submit(grade_within, limits, server, root, s, base_db, Path(work), env, timeout_s, options): s
            for s in students
        }
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            yield [(futures[future], future.result) for future in done]
