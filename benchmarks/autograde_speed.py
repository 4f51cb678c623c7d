"""Benchmark: N submissions autograded by plain `nbgrader autograde` (one after another) and by
`a12 autograde` (parallel workers), on a temporary course; prints the wall times and the speed-up.

    python -m benchmarks.autograde_speed --n 8            # the figures for the README (quiet machine)
    python -m benchmarks.autograde_speed --n 2            # a quick look while others use the CPU
    python -m benchmarks.autograde_speed --scheduler --n 8  # this machine's warm workers against a
                                                            # 2-worker Dask cluster on localhost

Every submission holds the reference answers, so every one runs the whole notebook (quick mode).
Both grade with confinement on (autograder.course.confine: plain nbgrader starts its kernel and grader
under bwrap, a12's warm ones enter their jails). ``--overhead`` also times ``a12 autograde
--unconfined`` and prints what confinement costs a submission. Each run also prints what the budgets'
bookkeeping costs a submission outside its jails (``budget.Limits.graded`` around no grading: the
cgroup made with its limits and removed, the autograded notebook read for its notes).
Goals on 2 cores: parallel at least 1.8x faster than plain nbgrader; one submission in 60 s or less;
confinement at most 1 s a submission.
With --scheduler: the Dask engine's overhead, (Dask wall time - local wall time) x workers / N, at
most 1 s a submission; also without nbgrader's own run time, which a busy machine makes vary more.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbgrader.api import Gradebook

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import autograde, budget, coursedir, demo, mnist


def auto_scores(root: Path) -> dict[str, float]:
    with Gradebook(coursedir.db_url(root)) as gb:
        return {
            f"{s.student.id}/{g.name}": g.auto_score
            for s in gb.assignment_submissions(ASSIGNMENT)
            for nb in s.notebooks
            for g in nb.grades
            if g.cell.cell_type == "code"
        }


def timed(label: str, run) -> float:
    print(f"{label} ...", flush=True)
    start = time.monotonic()
    run()
    seconds = time.monotonic() - start
    print(f"{label}: {seconds:.1f} s", flush=True)
    return seconds


PAYLOAD = 2 << 20  # bytes: more than a task's submission and release data, or its autograded files and gradebook


def budget_bookkeeping(root: Path, students: list[str], repeat: int = 5) -> float:
    """Seconds a submission that ``budget.Limits.graded`` adds around its grading, outside the jails."""
    limits = budget.Limits(budget.Budget(), budget.mechanism())
    with tempfile.NamedTemporaryFile() as log:
        start = time.monotonic()
        for _ in range(repeat):
            for student in students:
                limits.graded(root, student, {}, lambda env: SimpleNamespace(log=log.name, problem=None))
        return (time.monotonic() - start) / (repeat * len(students))


def round_trip(address: str, tasks: int = 20) -> float:
    """Seconds a task takes on the cluster, one after another, when it does nothing but carry ``PAYLOAD``."""
    from distributed import Client

    blob = os.urandom(PAYLOAD)
    with Client(address) as client:
        start = time.monotonic()
        for i in range(tasks):
            client.submit(bytes, blob, key=f"a12-round-trip-{i}").result()
        return (time.monotonic() - start) / tasks


def engine_overhead(root: Path, n: int, workers: int) -> int:
    """Local warm workers against ``workers`` one-thread Dask workers on localhost; the engine's overhead:
    the extra wall time a worker spends per submission, in all and outside nbgrader's own run."""
    from autograder.course import cluster

    graded = {}

    def grade(label: str, **options) -> tuple[float, float]:
        seconds = timed(
            label,
            lambda: graded.update(
                {label: autograde.autograde(root, workers=workers, force=True, progress=lambda line: None, **options)}
            ),
        )
        outside = seconds * workers / n - sum(o.seconds for o in graded[label]) / n
        print(f"  a worker's time per submission outside nbgrader's run: {outside:.2f} s")
        return seconds, outside

    local, local_outside = grade(f"a12 autograde, {n} on {workers} local workers")
    local_scores = auto_scores(root)
    env = dict(coursedir.nbgrader_env(), A12_THREADS=str(max(1, (os.cpu_count() or 1) // workers)))
    with cluster.on_localhost(workers, env) as (address, _):
        timed(
            "the Dask workers' set-up (a first submission)",
            lambda: autograde.autograde(root, ["s01"], scheduler=address, force=True, progress=lambda line: None),
        )
        dask, dask_outside = grade(f"a12 autograde --scheduler, {n} on {workers} Dask workers", scheduler=address)
        trip = round_trip(address)
        print(f"the engine alone: {trip * 1000:.0f} ms a task carrying {PAYLOAD >> 20} MiB each way")
    print(
        f"\nlocal {local:.1f} s, Dask {dask:.1f} s: the engine's overhead {(dask - local) * workers / n:.2f} s "
        f"a submission in wall time, {dask_outside - local_outside:.2f} s outside nbgrader's run (goal <= 1 s); "
        f"load average after: {os.getloadavg()[0]:.1f}"
    )
    return 1 if auto_scores(root) != local_scores else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="submissions (default 8)")
    parser.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per core)")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the course (default: temporary)")
    parser.add_argument("--overhead", action="store_true", help="also time a12 autograde --unconfined")
    parser.add_argument(
        "--scheduler",
        action="store_true",
        help="compare the local warm workers with a Dask cluster of as many workers on localhost",
    )
    args = parser.parse_args()

    folder = args.dir or Path(tempfile.mkdtemp(prefix="a12-bench-"))
    root = demo.build_course(folder / "course")
    mnist_root = Path(os.environ.get("MNIST_ROOT", folder / "data"))
    print(mnist.ensure_mnist(mnist_root))
    os.environ["MNIST_ROOT"] = str(mnist_root.resolve())
    reference = demo.student_notebook(root, demo.STUDENTS[0])
    students = [f"s{i:02d}" for i in range(1, args.n + 1)]
    for student in students:
        target = root / "submitted" / student / ASSIGNMENT / NOTEBOOK
        target.parent.mkdir(parents=True)
        nbformat.write(reference, target)
    cores = os.cpu_count()
    print(f"{args.n} submissions, {cores} cores, load average before: {os.getloadavg()[0]:.1f}")
    if args.scheduler:
        return engine_overhead(root, args.n, args.workers or cores)

    def plain():
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT],
            cwd=root,
            env=dict(coursedir.nbgrader_env(), MNIST_ROOT=os.environ["MNIST_ROOT"]),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.exit(f"nbgrader autograde failed:\n{done.stderr[-3000:]}")

    sequential = timed(f"plain nbgrader autograde, {args.n} one after another", plain)
    plain_scores = auto_scores(root)
    parallel = timed(
        f"a12 autograde, {args.n} in parallel",
        lambda: autograde.autograde(root, workers=args.workers, force=True, progress=lambda line: None),
    )
    parallel_scores = auto_scores(root)
    differ = sorted(k for k in plain_scores if plain_scores[k] != parallel_scores.get(k))
    one = timed(
        "a12 autograde, one submission",
        lambda: autograde.autograde(root, students[:1], workers=1, force=True, progress=lambda line: None),
    )
    unconfined = args.overhead and timed(
        f"a12 autograde --unconfined, {args.n} in parallel",
        lambda: autograde.autograde(root, workers=args.workers, force=True, progress=lambda line: None, confined=False),
    )

    print(f"\n{'':44}{'seconds':>9}")
    print(f"{'plain nbgrader autograde, one after another':44}{sequential:9.1f}   ({sequential / args.n:.1f} s each)")
    print(f"{'a12 autograde, parallel':44}{parallel:9.1f}   speed-up {sequential / parallel:.2f}x (goal >= 1.8x)")
    print(f"{'one submission (a12 autograde)':44}{one:9.1f}   (goal <= 60 s)")
    bookkeeping = budget_bookkeeping(root, students)
    print(f"budgets ({budget.mechanism()}): {bookkeeping * 1000:.1f} ms a submission outside its jails")
    if unconfined:
        cost = (parallel - unconfined) * (os.cpu_count() or 1) / args.n  # core-seconds a submission
        print(
            f"{'a12 autograde --unconfined, parallel':44}{unconfined:9.1f}   confinement: {cost:+.2f} core-s a "
            "submission (goal <= 1 s)"
        )
    print(
        f"auto points over {args.n} submissions: plain {sum(plain_scores.values()):g}, "
        f"a12 {sum(parallel_scores.values()):g}; load average after: {os.getloadavg()[0]:.1f}"
    )
    for key in differ:  # e.g. a cell past nbgrader's per-cell timeout on a machine busy with other work
        print(f"  scores differ: {key}: plain {plain_scores[key]:g}, a12 {parallel_scores.get(key)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
