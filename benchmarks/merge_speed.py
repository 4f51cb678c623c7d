"""Benchmark: merges per second into the course's gradebook, the one step of `a12 autograde` that a
cluster does not parallelise (one writer, one transaction per student): into SQLite, and into
PostgreSQL (a throwaway server started here as the tests do, or --db-url, an empty database).

    python -m benchmarks.merge_speed --n 200
    python -m benchmarks.merge_speed --n 200 --db-url postgresql://USER@HOST/DB

Every merge copies one student's autograder results (9 auto-graded items, 23 free-text answers, their
comments) from a worker's SQLite gradebook, as `a12 autograde` does after each submission.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import ASSIGNMENT
from autograder.course import coursedir, demo, gradebook
from tests.support import postgres


def worker_gradebook(definition_url: str, folder: Path, n: int) -> str:
    """One SQLite gradebook holding n students' autograded submissions (what n workers would hand back)."""
    url = f"sqlite:///{folder / 'workers.db'}"
    gradebook.definition_copy(definition_url, url)
    with Gradebook(url) as gb:
        for i in range(n):
            gb.update_or_create_student(f"s{i:05d}")
            for grade in gb.update_or_create_submission(ASSIGNMENT, f"s{i:05d}").notebooks[0].grades:
                grade.auto_score = 1.0 if grade.cell.cell_type == "code" else None
                grade.needs_manual_grade = grade.auto_score is None
        gb.db.commit()
    return url


def merges_per_s(db_url: str, definition_url: str, workers: str, n: int) -> float:
    gradebook.definition_copy(definition_url, db_url)
    start = time.monotonic()
    for i in range(n):
        gradebook.merge_autograde(db_url, workers, f"s{i:05d}")
    return n / (time.monotonic() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="students merged (default 200)")
    parser.add_argument("--db-url", default=None, help="an empty PostgreSQL database (default: a throwaway server)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="a12-merge-") as folder:
        root = demo.build_course(Path(folder) / "course")
        definition = coursedir.db_url(root)
        workers = worker_gradebook(definition, Path(folder), args.n)
        print(f"{args.n} students; SQLite ...", flush=True)
        sqlite = merges_per_s(f"sqlite:///{Path(folder) / 'merged.db'}", definition, workers, args.n)
        print(f"SQLite: {sqlite:.1f} merges/s", flush=True)
        server = None if args.db_url or postgres.binaries() is None else postgres.Server(postgres.binaries())
        try:
            url = args.db_url or (server and server.database())
            if url:
                rate = merges_per_s(coursedir.with_driver(url), definition, workers, args.n)
                print(f"PostgreSQL: {rate:.1f} merges/s")
            else:
                print("PostgreSQL: not installed, not measured")
        finally:
            if server:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
