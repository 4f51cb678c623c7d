"""The per-student job of ``a12 autograde``, whatever engine runs it (``autograder.course.pool`` on this
machine, ``autograder.course.cluster`` on a Dask cluster): ``nbgrader autograde`` of one student in a
warm worker (``autograder.course.warm``) into its own SQLite gradebook, and if nbgrader fails, the
notebook graded again without running it, all within the submission's budget (``grade_within``:
``autograder.course.budget``). An engine yields, as students finish, how to get each one's ``Attempt``
(the graded files in ``autograded/`` and the worker's gradebook); ``a12 autograde`` merges them
(``autograder.course.autograde.record``).
"""

import functools
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import budget, environment, warm
from autograder.grading.submission import SubmissionError, read_submission
from autograder.limits import GRACE_S, NOT_RUN_S

EXCEPTION = re.compile(r"^\s+([\w.]*(?:Error|Exception|Exit)\b: .*)$")


@dataclass
class NbgraderRun:
    """One ``nbgrader autograde`` of one student in a worker."""

    returncode: int | None  # None: killed at the time limit
    seconds: float
    db: Path


@dataclass
class Attempt:
    """What a worker did for one student: nbgrader's run, and the run without running the notebook."""

    run: NbgraderRun | None  # None: nbgrader was not started, the notebook cannot be read
    fallback: NbgraderRun | None
    problem: str
    log: Path

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in (self.run, self.fallback) if r)


# What an engine yields: the students that finished since its last yield, each with how to get the attempt.
Finished = Iterator[list[tuple[str, Callable[[], Attempt]]]]


def worker_env(threads: int, mnist_root: Path) -> dict[str, str]:
    """The environment of a worker: an allow-list of this one's, CPU threads per worker, and where MNIST is."""
    env = environment.for_instructor()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    env["MNIST_ROOT"] = str(mnist_root)
    return env


def run_nbgrader(
    server: warm.Server,
    root: Path,
    student: str,
    db: Path,
    log: Path,
    env: dict[str, str],
    limit_s: float,
    options: list[str],
) -> NbgraderRun:
    """``nbgrader autograde`` of one student into the gradebook ``db`` in a warm worker, killed after ``limit_s``."""
    argv = [
        "autograde",
        ASSIGNMENT,
        "--student",
        student,
        "--force",
        f"--CourseDirectory.db_url=sqlite:///{db}",
        "--NbGrader.logfile=",
        *options,
    ]
    with open(log, "a") as out:
        out.write(f"$ nbgrader {' '.join(argv)}\n")
    start = time.monotonic()
    returncode = server.run(root, argv, env, log, limit_s)
    return NbgraderRun(returncode, time.monotonic() - start, db)


def failure_of(log: Path) -> str:
    """Why nbgrader failed, from its log: the last exception of the last traceback (or error line)."""
    text = log.read_text(errors="replace").splitlines()
    exceptions = [m[1] for line in text if (m := EXCEPTION.match(line))]
    errors = [line.split("ERROR]", 1)[1].strip() for line in text if "ERROR]" in line]
    return (exceptions or errors or ["no message"])[-1]


def grade_student(
    server: warm.Server,
    root: Path,
    student: str,
    base_db: Path,
    work: Path,
    env: dict[str, str],
    timeout_s: float,
    options: tuple[str, ...] = (),
) -> Attempt:
    """Autograde one student in a worker; if nbgrader fails, grade the notebook again without running it."""
    log = root / ".a12" / "logs" / f"{student}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    try:
        read_submission(root / "submitted" / student / ASSIGNMENT / NOTEBOOK)
    except SubmissionError as error:
        return Attempt(None, None, str(error), log)
    shutil.copy(base_db, work / f"{student}.db")
    run = run_nbgrader(
        server,
        root,
        student,
        work / f"{student}.db",
        log,
        env,
        timeout_s + GRACE_S,
        [f"--LimitedExecute.submission_timeout={int(timeout_s)}", *options],
    )
    if run.returncode == 0:
        return Attempt(run, None, "", log)
    problem = (
        f"nbgrader was stopped at the time limit, after {run.seconds:.0f} s"
        if run.returncode is None
        else f"nbgrader failed: {failure_of(log)}"
    )
    shutil.copy(base_db, work / f"{student}-not-run.db")
    fallback = run_nbgrader(
        server,
        root,
        student,
        work / f"{student}-not-run.db",
        log,
        env,
        NOT_RUN_S,
        [f"--LimitedExecute.skip_reason=not run: {problem}. Ask the instructor.", *options],
    )
    return Attempt(run, fallback, problem, log)


def grade_within(
    limits: budget.Limits,
    server: warm.Server,
    root: Path,
    student: str,
    base_db: Path,
    work: Path,
    env: dict[str, str],
    timeout_s: float,
    options: tuple[str, ...] = (),
) -> Attempt:
    """``grade_student`` within the student's budget (``limits``: a memory+pids cgroup, or rlimits), as every
    engine runs it: the notes of the budgets it reached are added to the attempt's problem."""
    grade = functools.partial(grade_student, server, root, student, base_db, work, timeout_s=timeout_s, options=options)
    return limits.graded(root, student, env, grade)
