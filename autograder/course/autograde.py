"""``a12 autograde``: autograde every submission with nbgrader, in parallel worker processes.

nbgrader autogrades one submission after another, and SQLite takes one writer at a time. Here each
student is a worker process running ``nbgrader autograde --student S`` on its own copy of the
gradebook, with its share of the CPU cores (``OMP_NUM_THREADS``) and a time limit per submission.
The workers are warm (``autograder.course.warm``): nbgrader, the kernel and the grader start without
importing nbgrader, PyTorch and torchvision again.
The per-student job is ``autograder.course.job``; two engines run it: warm workers on this machine
(``autograder.course.pool``) or, with a Dask scheduler's address, a cluster's (``autograder.course.cluster``).
This process alone writes to the course's gradebook (``autograder.course.gradebook``: SQLite or
PostgreSQL): it merges the students whose workers finished, many a transaction, whatever the engine.
One submission's failure never stops the others:

- the time limit or a dead kernel stops a notebook midway: the cells not run score 0 and say why
  (``plugins.LimitedExecute``), the rest keep their points;
- nbgrader fails, or outlives the limit plus a grace period and is killed: the notebook is graded
  again without running it, every auto-graded item 0 with the reason in its test cell, so the
  free-text answers can still be graded in formgrader;
- the notebook cannot be read (``autograder.grading.submission``: not JSON, not nbformat 4, no nbgrader
  metadata), or nbgrader fails on both tries: every auto-graded item gets 0 in the gradebook, and
  the reader's or nbgrader's message says why.

Each of these is flagged for review, reported at the end, and logged in ``.a12/logs/<student>.log``.
"""

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import budget, confine, coursedir, gradebook, job, mnist, pool
from autograder.course.collect import STUDENT_ID
from autograder.course.job import Attempt
from autograder.course.plugins.execute import NOT_RUN
from autograder.course.plugins.independent import disagreements_of, flags_of
from autograder.limits import SUBMISSION_S

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Outcome:
    """How a student's submission was autograded."""

    student: str
    status: str  # "graded", "graded without running" or "not graded"
    auto_points: float | None
    max_points: float
    seconds: float
    problem: str = ""  # why some or all auto-graded items got 0 for no fault found by the checks
    log: Path | None = None
    disagreements: list[dict] = field(default_factory=list)  # test cells whose kernel outcome differed
    overrides: list[tuple[str, float, float | None]] = field(default_factory=list)  # manual scores on auto items
    flags: list[dict] = field(default_factory=list)  # the independent grader's flags: {"item", "reason"}


def submitted_students(root: Path) -> list[str]:
    """Students with a notebook in ``submitted/<student>/assignment12/``."""
    return sorted(p.parent.parent.name for p in (root / "submitted").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}"))


def up_to_date(root: Path, merged: set[str], student: str) -> bool:
    """Whether a student's autograded notebook is newer than the submission and in the gradebook
    (``merged``: the students with a submission there)."""
    graded = root / "autograded" / student / ASSIGNMENT / NOTEBOOK
    submitted = root / "submitted" / student / ASSIGNMENT / NOTEBOOK
    return student in merged and graded.exists() and graded.stat().st_mtime >= submitted.stat().st_mtime


def autograded(root: Path, student: str) -> nbformat.NotebookNode:
    """A student's autograded notebook (nbgrader wrote it), read without nbformat's validation (slow at scale)."""
    path = root / "autograded" / student / ASSIGNMENT / NOTEBOOK
    return nbformat.from_dict(json.loads(path.read_text(encoding="utf-8")))


def not_run_reason(graded: nbformat.NotebookNode) -> str:
    """Why the first cell of the autograded notebook that did not finish was stopped, or ""."""
    for cell in graded.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("ename") in (NOT_RUN, "CellTimeoutError"):
                text = output.get("evalue") or " ".join(output.get("traceback", []))
                return ANSI.sub("", text).removeprefix("CellTimeoutError: ")
    return ""


def record(root: Path, writer: gradebook.Writer, finished: list[tuple[str, Attempt]]) -> list[Outcome]:
    """Merge students' results into the course's gradebook (this process only, ``gradebook.BATCH`` students
    a transaction) and describe them. A student whose results cannot be read or merged is "not graded",
    with the error; the others are merged."""
    outcomes, results = {}, {}
    for student, attempt in finished:
        done = attempt.fallback or attempt.run
        if done is None or done.returncode != 0:
            results[student] = writer.ungradable(student)
            outcomes[student] = Outcome(
                student, "not graded", 0.0, writer.max_points, attempt.seconds, attempt.problem, attempt.log
            )
            continue
        try:
            results[student] = gradebook.read_results(f"sqlite:///{done.db}", student)
            graded = autograded(root, student)
            problem = attempt.problem or not_run_reason(graded)
            results[student].flag = bool(problem)
        except Exception as error:  # one student's failure never stops the batch
            results.pop(student, None)
            outcomes[student] = Outcome(student, "not graded", None, 0, 0, f"{type(error).__name__}: {error}")
            continue
        status = "graded without running" if attempt.fallback else "graded"
        outcomes[student] = Outcome(
            student,
            status,
            results[student].points,
            writer.max_points,
            attempt.seconds,
            problem,
            attempt.log,
            disagreements_of(graded),
            flags=flags_of(graded),
        )
    try:
        writer.merge(list(results.values()))
    except Exception:  # find the student that cannot be merged: the others are
        for student, merge in results.items():
            try:
                writer.merge([merge])
            except Exception as error:
                outcomes[student] = Outcome(student, "not graded", None, 0, 0, f"{type(error).__name__}: {error}")
    overrides = writer.overrides(list(results))
    for student, found in overrides.items():
        outcomes[student].overrides = found
    return list(outcomes.values())


PER_SUBMISSION = 100  # up to this many submissions, a progress line for each; beyond, one every EVERY_S
EVERY_S = 10.0


def progress_line(done: int, total: int, elapsed: float, outcome: Outcome) -> str:
    """One line of the progress bar, for the submission just finished."""
    width = 20
    bar = "#" * (width * done // total) + "." * (width - width * done // total)
    points = f"{outcome.auto_points:g}/{outcome.max_points:g} auto points" if outcome.auto_points is not None else ""
    note = f"  ({outcome.status}: {outcome.problem})" if outcome.problem else ""
    return (
        f"[{bar}] {done}/{total} {time.strftime('%M:%S', time.gmtime(elapsed))}  "
        f"{outcome.student}: {points} in {outcome.seconds:.0f} s{note}"
    )


def autograde(
    root: Path,
    students: list[str] | None = None,
    workers: int | None = None,
    timeout_s: float = SUBMISSION_S,
    force: bool = False,
    progress: Callable[[str], None] = print,
    threads: int | None = None,
    confined: bool = True,
    scheduler: str | None = None,
    tries: int = 3,
    budget_of: budget.Budget | None = None,
) -> list[Outcome]:
    """Autograde the given (default: all submitted, not yet autograded) students in parallel.

    ``confined``: the student's kernel and the grader run in jails (``autograder.course.confine``); without
    bubblewrap this stops with the reason, unless ``confined`` is off.

    ``threads``: CPU threads of each notebook; by default the cores shared out among the workers
    (one each when there are as many submissions as cores): more threads than cores made a submission
    run several times slower (benchmarks/autograde_speed.py).
    ``scheduler``: the address of a Dask scheduler: grade on its workers instead (``autograder.course.cluster``),
    a submission stopped after its grading ended ``tries`` workers.
    ``budget_of``: each submission's budget (default: ``c.Budget`` of ``nbgrader_config.py``), on this machine
    or on a cluster's workers; on this machine, the workers that fit its memory by default.
    """
    db_url = coursedir.db_url(root)
    if confined and (reason := confine.unavailable()):
        raise coursedir.CourseError(reason)
    db_file = Path(db_url.removeprefix("sqlite:///"))
    if db_url.startswith("sqlite:///") and not db_file.exists():
        raise coursedir.CourseError(f"{db_file} does not exist: run `a12 release` first")
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            raise coursedir.CourseError(f"the gradebook has no {ASSIGNMENT}: run `a12 release` first") from None
    chosen = students or submitted_students(root)
    if not chosen:
        raise coursedir.CourseError(
            f"no submissions in submitted/<student>/{ASSIGNMENT}/{NOTEBOOK}: run `a12 collect` first"
        )
    bad = [
        s
        for s in chosen
        if not STUDENT_ID.fullmatch(s) or not (root / "submitted" / s / ASSIGNMENT / NOTEBOOK).is_file()
    ]
    if bad:
        raise coursedir.CourseError(
            f"no submission in submitted/<student>/{ASSIGNMENT}/{NOTEBOOK} for: {', '.join(bad)}"
        )
    if not force:
        with gradebook.Writer(db_url) as writer:
            merged = writer.submitted()
        chosen = [s for s in chosen if not up_to_date(root, merged, s)]
    if not chosen:
        progress("nothing to autograde: every submission is autograded (pass --force to grade again)")
        return []
    options = () if confined else ("--GradeIndependently.confine=False",)
    budget_of = budget_of or budget.Budget(config=coursedir.course_config(root))
    options += (f"--Budget.notebook_bytes={budget_of.notebook_bytes}",)
    if scheduler:
        from autograder.course import cluster  # Dask only where it is used

        finished = cluster.graded(root, db_url, chosen, scheduler, timeout_s, tries, progress, options, budget_of)
    else:
        limits, workers = budget.plan(budget_of, workers, os.cpu_count() or 1, len(chosen), progress)
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        mnist_root = Path(os.environ.get("MNIST_ROOT", root / "data")).resolve()
        if not mnist.has_mnist(mnist_root):
            progress(mnist.ensure_mnist(mnist_root))
        if confined and (hidden := confine.unreadable_by_jail(mnist_root)):
            raise coursedir.CourseError(
                f"the jailed kernels (user nobody) cannot read {hidden[0]}: run `chmod -R a+rX {mnist_root}`"
            )
        progress(
            f"autograding {len(chosen)} submission{'s' * (len(chosen) > 1)} with {workers} worker"
            f"{'s' * (workers > 1)} ({threads} CPU thread{'s' * (threads > 1)} each), at most {timeout_s:g} s each"
        )
        finished = pool.graded(
            root, db_url, chosen, workers, job.worker_env(threads, mnist_root), timeout_s, options, limits
        )
    outcomes, start, shown = [], time.monotonic(), 0.0
    with gradebook.Writer(db_url) as writer:
        for ready in finished:
            attempts = []
            for student, attempt in ready:
                try:
                    attempts.append((student, attempt()))
                except Exception as error:  # one student's failure never stops the batch
                    outcomes.append(Outcome(student, "not graded", None, 0, 0, f"{type(error).__name__}: {error}"))
            outcomes += record(root, writer, attempts)
            for number, outcome in enumerate(outcomes[len(outcomes) - len(ready) :], len(outcomes) - len(ready) + 1):
                elapsed = time.monotonic() - start
                if (
                    len(chosen) <= PER_SUBMISSION
                    or outcome.problem
                    or elapsed - shown >= EVERY_S
                    or number == len(chosen)
                ):
                    progress(progress_line(number, len(chosen), elapsed, outcome))
                    shown = elapsed
    return sorted(outcomes, key=lambda o: o.student)


def summary_text(outcomes: list[Outcome]) -> str:
    """The batch's closing report: counts, and every submission that needs a look."""
    problems = [o for o in outcomes if o.problem or o.disagreements or o.overrides or o.flags]
    lines = [f"{len(outcomes) - len(problems)} of {len(outcomes)} submissions autograded without problems"]
    for o in problems:
        if o.problem:
            lines.append(f"  {o.student}: {o.status}: {o.problem}" + (f" (log: {o.log})" if o.log else ""))
        if o.disagreements:
            lines.append(
                f"  {o.student}: flagged: the notebook's own run disagreed with the independent grader on "
                + disagreement_text(o.disagreements)
                + "; the independent points count"
            )
        for flag in o.flags:
            lines.append(f"  {o.student}: flagged: {flag['item']}: {flag['reason']}")
        for cell, manual, auto in o.overrides:
            lines.append(
                f"  {o.student}: {cell} has a manual score of {manual:g} over the automatic {auto}: it counts; "
                "check in formgrader that a grader gave it"
            )
    return "\n".join(lines)


def disagreement_text(disagreements: list[dict]) -> str:
    """``12.6d (kernel 2, independent 1), ...``"""
    return ", ".join(
        f"{d['item']} (kernel {d['kernel'] if d['kernel'] is not None else 'none'}, independent {d['independent']:g})"
        for d in disagreements
    )
