"""``a12 autograde --scheduler ADDRESS``: each submission a task on a Dask distributed cluster.

The instructor's machine sends every task what it needs as bytes: the submission (and its
``timestamp.txt``), and the course's release data (``release_data``: ``nbgrader_config.py``, the
source folder, whose notebook holds the grading rules shown to graders, and the assignment's
definition in a new SQLite gradebook). No file system is shared. On a worker the task
(``grade_task``) autogrades the submission in a private scratch course exactly as ``a12 autograde``
does on one machine (``job.grade_within``: within the submission's budget, a memory+pids cgroup on
the worker's machine or rlimits, ``autograder.course.budget``), and returns plain data (``Graded``):
the autograded files, the log, and the worker's SQLite gradebook.
The instructor's machine merges each student as their task finishes, in this process only, as on
one machine (``autograde.record``).

Each worker is set up once by a worker plugin (``WarmWorker``, registered by ``a12 autograde``):
MNIST where the notebooks read it (``MNIST_ROOT``, by default ``~/.cache/a12/data``) and a warm
server (``autograder.course.warm``) whose notebooks share out the cores among the worker's threads
(``A12_THREADS`` sets their CPU threads instead), and how budgets are enforced on its machine
(``budget.mechanism``; the cgroups a killed worker left are swept). A worker needs only the course
package installed: ``dask worker tcp://SCHEDULER:8786 --nthreads C`` grades C submissions at once.

Faults: Dask's scheduler runs the tasks of a worker that dies on another worker. A submission
whose task was running on ``tries`` workers that died (a poison submission) is stopped there, and
every auto-graded item gets 0, flagged, with the reason. A task has no effect outside its scratch
folder, and each student is merged once, when the task's result arrives: nothing is graded twice.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from distributed import Client, KilledWorker, WorkerPlugin, as_completed, get_worker

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import budget, gradebook, job, mnist, warm
from autograder.course.coursedir import CourseError

PLUGIN = "a12-warm-worker"
BASE_DB = "gradebook.db"  # the release data's gradebook: the assignment's definition, no students
MNIST_CACHE = Path.home() / ".cache" / "a12" / "data"
# What Dask's nanny sets for its worker process and the notebooks must not inherit: glibc's trim
# threshold (it also fixes the mmap threshold, so PyTorch's tensors are mapped and zeroed afresh).
DASK_ONLY = ("MALLOC_TRIM_THRESHOLD_",)


@dataclass
class Graded:
    """What a task returns for one student: plain data, ready for ``autograde.record``."""

    runs: list[tuple[int | None, float]]  # (exit status, seconds) of nbgrader's run, then of the run without running
    problem: str
    log: str
    db: bytes | None  # the worker's SQLite gradebook after the run that counts, if it succeeded
    autograded: dict[str, bytes]  # autograded/<student>/assignment12/: relative path -> content


class WarmWorker(WorkerPlugin):
    """Sets up a Dask worker once: MNIST, a warm server in the workers' environment, and how budgets are
    enforced here (``budget_kind``: "cgroup v2", "cgroup v1" or "rlimits"). The worker
    keeps them for later batches (``idempotent``: registering it again changes nothing)."""

    idempotent = True

    def __init__(self, warnings: str):
        """``warnings``: the instructor's ``PYTHONWARNINGS``, which ``nbgrader_config.py`` sets: a kernel is
        warm only if its warning options are the server's (``warm.WarmProvisioner``)."""
        self.warnings = warnings

    def setup(self, worker) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="a12-worker-"))
        mnist_root = Path(os.environ.get("MNIST_ROOT") or MNIST_CACHE).resolve()
        if not mnist.has_mnist(mnist_root):
            print(mnist.ensure_mnist(mnist_root), flush=True)
        threads = int(os.environ.get("A12_THREADS") or max(1, (os.cpu_count() or 1) // worker.state.nthreads))
        self.env = job.worker_env(threads, mnist_root)
        for name in DASK_ONLY:
            self.env.pop(name, None)
        if self.warnings:
            self.env["PYTHONWARNINGS"] = self.warnings
        self.budget_kind = budget.mechanism()
        if self.budget_kind != "rlimits":
            budget.sweep(self.budget_kind)  # cgroups of a worker that was killed
        self.server = warm.Server(self.folder, self.env)

    def teardown(self, worker) -> None:
        self.server.__exit__(None, None, None)
        shutil.rmtree(self.folder, ignore_errors=True)


def release_data(root: Path, db_url: str, folder: Path) -> dict[str, bytes]:
    """What a worker needs of the course: relative path -> content (``BASE_DB``: the assignment's definition)."""
    files = {"nbgrader_config.py": (root / "nbgrader_config.py").read_bytes()}
    source = root / "source" / ASSIGNMENT
    for path in sorted(source.rglob("*")):  # the notebook (grading rules), files nbgrader copies
        relative = path.relative_to(source)
        if path.is_file() and not {"data", ".ipynb_checkpoints"} & set(relative.parts):
            files[f"source/{ASSIGNMENT}/{relative.as_posix()}"] = path.read_bytes()
    gradebook.definition_copy(db_url, f"sqlite:///{folder / BASE_DB}")
    files[BASE_DB] = (folder / BASE_DB).read_bytes()
    return files


def budget_values(budget_of: budget.Budget) -> dict[str, int]:
    """A submission's budget as plain data for a task (``c.Budget``'s traits)."""
    return {name: getattr(budget_of, name) for name in budget.Budget.class_trait_names(config=True)}


def budget_kind(dask_worker) -> str:
    """On a worker (``Client.run``): how budgets are enforced there."""
    return dask_worker.plugins[PLUGIN].budget_kind


def grade_task(
    student: str,
    notebook: bytes,
    timestamp: bytes | None,
    release: dict[str, bytes],
    timeout_s: float,
    options: tuple[str, ...] = (),
    budget_of: dict[str, int] | None = None,
) -> Graded:
    """On a worker: autograde one submission in a scratch course made from ``release``, within its budget
    (``budget_of``: ``budget_values``; by default ``c.Budget``'s defaults)."""
    warm_worker = get_worker().plugins[PLUGIN]
    limits = budget.Limits(budget.Budget(**(budget_of or {})), warm_worker.budget_kind)
    with tempfile.TemporaryDirectory(prefix=f"a12-{student}-") as scratch:
        root, work = Path(scratch) / "course", Path(scratch) / "work"
        work.mkdir()
        for name, content in release.items():
            path = work / name if name == BASE_DB else root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        submitted = root / "submitted" / student / ASSIGNMENT
        submitted.mkdir(parents=True)
        (submitted / NOTEBOOK).write_bytes(notebook)
        if timestamp is not None:
            (submitted / "timestamp.txt").write_bytes(timestamp)
        attempt = job.grade_within(
            limits, warm_worker.server, root, student, work / BASE_DB, work, warm_worker.env, timeout_s, options
        )
        done = attempt.fallback or attempt.run
        graded = root / "autograded" / student / ASSIGNMENT
        return Graded(
            [(run.returncode, run.seconds) for run in (attempt.run, attempt.fallback) if run],
            attempt.problem,
            attempt.log.read_text(errors="replace"),
            done.db.read_bytes() if done and done.returncode == 0 else None,
            {p.relative_to(graded).as_posix(): p.read_bytes() for p in graded.rglob("*") if p.is_file()},
        )


def attempt_of(root: Path, student: str, graded: Graded, work: Path) -> job.Attempt:
    """A task's result put in place on the instructor's machine: the autograded files, log and gradebook."""
    log = root / ".a12" / "logs" / f"{student}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(graded.log)
    if graded.autograded:
        target = root / "autograded" / student / ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        for name, content in graded.autograded.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(content)
    db = work / f"{student}.db"
    if graded.db is not None:
        db.write_bytes(graded.db)
    runs = [job.NbgraderRun(code, seconds, db) for code, seconds in graded.runs]
    return job.Attempt(runs[0] if runs else None, runs[1] if len(runs) > 1 else None, graded.problem, log)


def result(root: Path, student: str, future, work: Path, tries: int) -> job.Attempt:
    """The attempt of a finished task; a poison submission's says why it was stopped."""
    try:
        return attempt_of(root, student, future.result(), work)
    except KilledWorker:
        problem = f"not graded: its grading ended {tries} Dask workers. Ask the instructor."
        log = root / ".a12" / "logs" / f"{student}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(problem + "\n")
        return job.Attempt(None, None, problem, log)


def graded(
    root: Path,
    db_url: str,
    students: list[str],
    scheduler: str,
    timeout_s: float,
    tries: int,
    progress: Callable[[str], None],
    options: tuple[str, ...] = (),
    budget_of: budget.Budget | None = None,
) -> job.Finished:
    """Grade ``students`` on the cluster at ``scheduler``, each within its budget (``budget_of``, by default
    ``c.Budget``'s defaults; each worker's machine enforces it); yield the students whose tasks finished
    since the last yield, each with how to get the attempt in place. Two tasks per worker thread wait on the
    scheduler at a time (a task holds a submission and the release data)."""

    def allow_failures(count: int, dask_scheduler=None) -> None:  # runs on the scheduler (pickled by value)
        dask_scheduler.allowed_failures = count

    try:
        client = Client(scheduler, timeout="60s")
    except OSError as error:
        raise CourseError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    with client, tempfile.TemporaryDirectory(prefix="a12-cluster-") as work:
        client.register_plugin(WarmWorker(os.environ.get("PYTHONWARNINGS", "")), name=PLUGIN)
        client.run_on_scheduler(allow_failures, tries - 1)
        release = release_data(root, db_url, Path(work))  # in each task: nothing to lose when a worker dies
        threads = sum(client.nthreads().values())
        budget_of = budget_of or budget.Budget()
        values = budget_values(budget_of)
        kinds = sorted(set(client.run(budget_kind).values()))
        progress(
            f"autograding {len(students)} submission{'s' * (len(students) > 1)} on the Dask cluster at "
            f"{scheduler} ({len(client.nthreads())} workers, {threads} threads), at most {timeout_s:g} s each, "
            f"{tries} tries; {budget.size_text(budget_of.memory_bytes)} of memory per submission, budgets by "
            + " or ".join(kinds)
        )
        waiting, running, finished = iter(students), {}, as_completed()

        def submit() -> None:
            if (student := next(waiting, None)) is not None:
                folder = root / "submitted" / student / ASSIGNMENT
                stamp = folder / "timestamp.txt"
                future = client.submit(
                    grade_task,
                    student,
                    (folder / NOTEBOOK).read_bytes(),
                    stamp.read_bytes() if stamp.is_file() else None,
                    release,
                    timeout_s,
                    options,
                    values,
                    key=f"a12-autograde-{student}-{uuid.uuid4().hex}",
                )
                running[future.key] = student
                finished.add(future)

        for _ in range(max(2, 2 * threads)):
            submit()
        for batch in finished.batches():
            for _ in batch:
                submit()
            students = [running.pop(future.key) for future in batch]
            yield [
                (student, partial(result, root, student, future, Path(work), tries))
                for student, future in zip(students, batch)
            ]
            for future in batch:
                future.release()


@contextmanager
def on_localhost(workers: int, env: dict[str, str]) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A ``dask scheduler`` and ``workers`` one-thread ``dask worker`` processes on 127.0.0.1 (for tests and
    benchmarks), each in a session of its own (a worker's nanny and process die together); yield the
    scheduler's address and the workers' processes once all have joined; stop them afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"

    def dask(*args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args, "--dashboard-address", ":0"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    processes = [dask("scheduler", "--host", "127.0.0.1", "--port", str(port))]
    try:
        processes += [
            dask("worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--memory-limit", "0")
            for _ in range(workers)
        ]
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, processes[1:]
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
