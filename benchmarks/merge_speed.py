"""Benchmark: merges per second into the course's gradebook, the one step of `a12 autograde` that a
cluster does not parallelise (one writer, ``gradebook.BATCH`` students a transaction): into SQLite,
and into PostgreSQL (a throwaway server started here as the tests do, or --db-url, an empty database).

    python -m benchmarks.merge_speed --n 2000
    python -m benchmarks.merge_speed --n 2000 --db-url postgresql://USER@HOST/DB

Every merge reads one student's autograder results (9 auto-graded items, 23 free-text answers, their
comments) from a worker's SQLite gradebook and writes them into the course's, as `a12 autograde` does
after each submission; the students are new to the gradebook (their rows are created), then merged a
second time (their rows are updated).
"""

import argparse
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import ASSIGNMENT
from autograder.course import coursedir, demo, gradebook
from tests.support import postgres


def worker_gradebook(definition_url: str, folder: Path, student: str = "s00000") -> Path:
    """What a worker's nbgrader autograde leaves for one student: every auto-graded item 1 point."""
    path = folder / f"{student}.db"
    gradebook.definition_copy(definition_url, f"sqlite:///{path}")
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.update_or_create_student(student)
        for grade in gb.update_or_create_submission(ASSIGNMENT, student).notebooks[0].grades:
            grade.auto_score = 1.0 if grade.cell.cell_type == "code" else None
            grade.needs_manual_grade = grade.auto_score is None
        gb.db.commit()
    return path


def renamed(template: bytes, student: str, folder: Path) -> Path:
    """A worker's gradebook of one student made from another's (``template``, its student ``s00000``)."""
    path = folder / f"{student}.db"
    path.write_bytes(template)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE student SET id = ?", (student,))
        db.execute("UPDATE submitted_assignment SET student_id = ?", (student,))
    return path


def worker_gradebooks(definition_url: str, folder: Path, n: int) -> list[str]:
    """n students' worker gradebooks, one SQLite file each, as n workers hand them back."""
    folder.mkdir(parents=True, exist_ok=True)
    template = worker_gradebook(definition_url, folder).read_bytes()
    return [f"sqlite:///{renamed(template, f's{i:05d}', folder)}" for i in range(n)]


def merges_per_s(db_url: str, workers: list[str]) -> float:
    """Merges per second of students' results: read from their workers' gradebooks, written in batches."""
    start = time.monotonic()
    results = [gradebook.read_results(url, f"s{i:05d}") for i, url in enumerate(workers)]
    with gradebook.Writer(db_url) as writer:
        writer.merge(results)
    return len(workers) / (time.monotonic() - start)


def measure(name: str, db_url: str, definition_url: str, workers: list[str]) -> None:
    gradebook.definition_copy(definition_url, db_url)
    new = merges_per_s(db_url, workers)
    again = merges_per_s(db_url, workers)
    print(f"{name}: {new:.0f} merges/s (new students), {again:.0f} merges/s (merged again)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="students merged (default 2000)")
    parser.add_argument("--db-url", default=None, help="an empty PostgreSQL database (default: a throwaway server)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="a12-merge-") as folder:
        root = demo.build_course(Path(folder) / "course")
        definition = coursedir.db_url(root)
        workers = worker_gradebooks(definition, Path(folder) / "workers", args.n)
        print(f"{args.n} students; SQLite ...", flush=True)
        measure("SQLite", f"sqlite:///{Path(folder) / 'merged.db'}", definition, workers)
        server = None if args.db_url or postgres.binaries() is None else postgres.Server(postgres.binaries())
        try:
            url = args.db_url or (server and server.database())
            if url:
                measure("PostgreSQL", coursedir.with_driver(url), definition, workers)
            else:
                print("PostgreSQL: not installed, not measured")
        finally:
            if server:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
