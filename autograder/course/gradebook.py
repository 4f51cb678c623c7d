"""What the parallel autograder writes into nbgrader's gradebook, from one process only.

Each worker autogrades one student with nbgrader into its own copy of the gradebook (a snapshot made
by ``snapshot``), so workers never write to the same SQLite file. ``merge_autograde`` then copies
that student's autograder results into the course's gradebook through nbgrader's ``Gradebook`` API,
exactly the fields nbgrader's autograde owns, in one transaction:

- ``auto_score`` of every grade and ``auto_comment`` of every comment;
- ``needs_manual_grade`` by nbgrader's own rule (``SaveAutoGrades``): an item needs a person when it
  has a manual score to review or no automatic score;
- the submission's timestamp and each notebook's late penalty;
- a flag that autograding raised (it never clears one).

Manual scores, extra credit, manual comments, flags and extensions are never touched, so grades
already given survive re-autograding; merging the same results twice changes nothing.

The course's gradebook may be nbgrader's SQLite file or a PostgreSQL database (several graders in
formgrader at once). The merge locks the student's grade and comment rows (``SELECT ... FOR UPDATE``)
so that a grader's manual score committed meanwhile is read, never overwritten. Workers always grade
into SQLite: a snapshot of an SQLite gradebook, or ``definition_copy`` of any other.
"""

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import uuid4

from nbgrader.api import Base, Gradebook, MissingEntry
from sqlalchemy import Boolean, Float, Text, bindparam, create_engine, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from autograder import ASSIGNMENT


def snapshot(db_file: Path, copy: Path) -> None:
    """A consistent copy of an SQLite gradebook, even while another program writes to it."""
    source, target = sqlite3.connect(db_file), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


# What ``nbgrader generate_assignment`` records: the assignments, their notebooks and cells (no students).
DEFINITION = (
    "course",
    "assignment",
    "notebook",
    "base_cell",
    "grade_cells",
    "solution_cells",
    "task_cells",
    "source_cell",
)


def definition_copy(db_url: str, target_url: str) -> None:
    """Copy the assignments' definition from one gradebook into another (replacing its own)."""
    with Gradebook(db_url) as source, Gradebook(target_url) as target:
        with source.engine.connect() as read, target.engine.begin() as write:
            for name in reversed(DEFINITION):
                write.execute(Base.metadata.tables[name].delete())
            for name in DEFINITION:
                table = Base.metadata.tables[name]
                rows = [dict(row._mapping) for row in read.execute(table.select())]
                if rows:
                    write.execute(table.insert(), rows)


def worker_base(db_url: str, copy: Path) -> None:
    """The gradebook that workers start from: a snapshot of an SQLite gradebook, a definition copy of another."""
    if db_url.startswith("sqlite:///"):
        snapshot(Path(db_url.removeprefix("sqlite:///")), copy)
    else:
        definition_copy(db_url, f"sqlite:///{copy}")


BATCH = 200  # students merged in one transaction at most: a grader's write waits for one batch only
TRIES = 5  # transactions tried per batch: a locked SQLite file, a deadlock or a row inserted meanwhile


@dataclass
class NotebookResults:
    """What nbgrader's autograde set in one submitted notebook."""

    late_penalty: float | None
    flagged: bool
    scores: dict[str, float | None]  # grade cell -> auto score
    comments: dict[str, str | None]  # solution or task cell -> auto comment


@dataclass
class Results:
    """A student's autograder results, as read from a worker's gradebook (plain data)."""

    student: str
    timestamp: datetime | None
    notebooks: dict[str, NotebookResults]
    points: float  # the auto points: the auto scores of the code cells
    flag: bool = False  # flag every notebook for review


def _table(name: str):
    return Base.metadata.tables[name]


# A worker's gradebook is SQLite, read with plain SQL: a student's results in three queries.
_SUBMISSION = """SELECT sa.id, sa.timestamp FROM submitted_assignment sa JOIN assignment a ON a.id = sa.assignment_id
WHERE a.name = ? AND sa.student_id = ?"""
_NOTEBOOKS = """SELECT sn.id, n.name, sn.late_submission_penalty, sn.flagged FROM submitted_notebook sn
JOIN notebook n ON n.id = sn.notebook_id WHERE sn.assignment_id = ?"""
_GRADES = """SELECT g.notebook_id, c.name, g.auto_score, COALESCE(gc.cell_type, tc.cell_type) FROM grade g
JOIN submitted_notebook sn ON sn.id = g.notebook_id JOIN base_cell c ON c.id = g.cell_id
LEFT JOIN grade_cells gc ON gc.id = g.cell_id LEFT JOIN task_cells tc ON tc.id = g.cell_id
WHERE sn.assignment_id = ?"""
_COMMENTS = """SELECT m.notebook_id, c.name, m.auto_comment FROM comment m
JOIN submitted_notebook sn ON sn.id = m.notebook_id JOIN base_cell c ON c.id = m.cell_id
WHERE sn.assignment_id = ?"""


def read_results(worker_db_url: str, student: str, assignment: str = ASSIGNMENT) -> Results:
    """A student's autograder results in a worker's SQLite gradebook."""
    with closing(sqlite3.connect(worker_db_url.removeprefix("sqlite:///"))) as db:
        found = db.execute(_SUBMISSION, (assignment, student)).fetchone()
        if found is None:
            raise MissingEntry(f"No such submission: {assignment} for {student}")
        submission, timestamp = found
        notebooks = {
            nb_id: (name, NotebookResults(penalty, bool(flagged), {}, {}))
            for nb_id, name, penalty, flagged in db.execute(_NOTEBOOKS, (submission,))
        }
        points = 0.0
        for nb_id, cell, score, cell_type in db.execute(_GRADES, (submission,)):
            notebooks[nb_id][1].scores[cell] = score
            points += (score or 0) if cell_type == "code" else 0
        for nb_id, cell, text in db.execute(_COMMENTS, (submission,)):
            notebooks[nb_id][1].comments[cell] = text
    return Results(student, timestamp and datetime.fromisoformat(timestamp), dict(notebooks.values()), points)


@dataclass
class _Notebook:
    """A notebook of the assignment: its id, and its cells' ids by name."""

    id: str
    grades: dict[str, str]  # grade and task cells: the cells that have a grade
    comments: dict[str, str]  # solution and task cells: the cells that have a comment
    code: set[str]  # auto-graded grade cells
    max_points: float  # of the auto-graded grade cells


class Writer:
    """The course's gradebook, open for merging many students: nbgrader's tables written in bulk.

    Each batch of at most ``BATCH`` students is one transaction (each student fully merged or not at
    all), tried again from the start when it conflicts with another writer. A student never seen
    is added as nbgrader's ``add_submission`` does: the submission, its notebooks, a grade for every
    grade and task cell, a comment for every solution and task cell. A grade's ``needs_manual_grade``
    is computed by the database from the row as it is when the update locks it, so a grader's manual
    score committed meanwhile is never overwritten nor missed."""

    def __init__(self, db_url: str, assignment: str = ASSIGNMENT):
        self.engine = create_engine(db_url)
        with self.engine.connect() as db:
            assignment_table, cell = _table("assignment"), _table("base_cell")
            found = db.execute(select(assignment_table.c.id).where(assignment_table.c.name == assignment)).first()
            if found is None:
                self.engine.dispose()
                raise MissingEntry(f"No such assignment: {assignment}")
            self.assignment_id = found.id
            self.notebooks: dict[str, _Notebook] = {}
            for row in db.execute(select(_table("notebook")).where(_table("notebook").c.assignment_id == found.id)):
                kinds = {}
                for kind in ("grade_cells", "solution_cells", "task_cells"):
                    columns = [cell.c.id, cell.c.name] + (
                        [_table(kind).c.cell_type, _table(kind).c.max_score] if kind != "solution_cells" else []
                    )
                    kinds[kind] = db.execute(
                        select(*columns)
                        .join(_table(kind), _table(kind).c.id == cell.c.id)
                        .where(cell.c.notebook_id == row.id)
                    ).all()
                self.notebooks[row.name] = _Notebook(
                    row.id,
                    {c.name: c.id for c in kinds["grade_cells"] + kinds["task_cells"]},
                    {c.name: c.id for c in kinds["solution_cells"] + kinds["task_cells"]},
                    {c.name for c in kinds["grade_cells"] if c.cell_type == "code"},
                    sum(c.max_score for c in kinds["grade_cells"] if c.cell_type == "code"),
                )

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.engine.dispose()

    @property
    def max_points(self) -> float:
        """The assignment's auto points."""
        return sum(notebook.max_points for notebook in self.notebooks.values())

    def submitted(self) -> set[str]:
        """The students with a submission of the assignment in the gradebook."""
        sa = _table("submitted_assignment")
        with self.engine.connect() as db:
            return set(db.scalars(select(sa.c.student_id).where(sa.c.assignment_id == self.assignment_id)))

    def scores(self, students: list[str]) -> dict[str, dict[str, tuple[float | None, float | None]]]:
        """The auto-graded cells' scores of the students with a submission: student -> cell -> (auto, manual)."""
        sa, sn, grade, cell = (
            _table("submitted_assignment"),
            _table("submitted_notebook"),
            _table("grade"),
            _table("base_cell"),
        )
        code = {cell_id for nb in self.notebooks.values() for name, cell_id in nb.grades.items() if name in nb.code}
        found: dict[str, dict[str, tuple[float | None, float | None]]] = {}
        with self.engine.connect() as db:
            for start in range(0, len(students), BATCH):
                for row in db.execute(
                    select(sa.c.student_id, cell.c.name, grade.c.cell_id, grade.c.auto_score, grade.c.manual_score)
                    .join(sn, sn.c.id == grade.c.notebook_id)
                    .join(sa, sa.c.id == sn.c.assignment_id)
                    .join(cell, cell.c.id == grade.c.cell_id)
                    .where(
                        sa.c.assignment_id == self.assignment_id,
                        sa.c.student_id.in_(students[start : start + BATCH]),
                        sn.c.notebook_id.in_([nb.id for nb in self.notebooks.values()]),
                        grade.c.cell_id.in_(code),
                    )
                ):
                    if row.cell_id in code:
                        found.setdefault(row.student_id, {})[row.name] = (row.auto_score, row.manual_score)
        return found

    def overrides(self, students: list[str]) -> dict[str, list[tuple[str, float, float | None]]]:
        """The auto-graded cells whose manual score overrides the automatic one: student -> (cell, manual, auto).

        Formgrader lets a grader do that on purpose; ``a12 autograde`` lists them so that one written by
        anything else is seen (and ``a12 regrade`` reports them against the independent points)."""
        scores = self.scores(students)
        return {
            s: [
                (cell, manual, auto) for cell, (auto, manual) in sorted(scores.get(s, {}).items()) if manual is not None
            ]
            for s in students
        }

    def ungradable(self, student: str) -> Results:
        """A submission that nbgrader could not grade at all: 0 on every auto-graded item, flagged for
        review; its free-text answers stay as they were (ungraded, or graded by hand before)."""
        notebooks = {
            name: NotebookResults(None, True, dict.fromkeys(notebook.code, 0.0), {})
            for name, notebook in self.notebooks.items()
        }
        return Results(student, None, notebooks, 0.0, flag=True)

    def merge(self, results: list[Results]) -> None:
        """Merge students' results, ``BATCH`` students a transaction."""
        for start in range(0, len(results), BATCH):
            batch = results[start : start + BATCH]
            for tried in range(1, TRIES + 1):
                try:
                    with self.engine.begin() as db:
                        self._write(db, batch)
                    break
                except (OperationalError, IntegrityError):
                    if tried == TRIES:
                        raise
                    time.sleep(0.05 * 2**tried)

    def _submitted_notebooks(self, db, students: list[str], timestamps: dict[str, datetime]) -> dict:
        """(student, notebook name) -> submitted notebook id, adding the students, submissions and
        submitted notebooks that are missing."""
        student, sa, sn = _table("student"), _table("submitted_assignment"), _table("submitted_notebook")
        known = set(db.scalars(select(student.c.id).where(student.c.id.in_(students))))
        if missing := [{"id": s} for s in students if s not in known]:
            _insert(db, student, missing)
        found = db.execute(
            select(sa.c.student_id, sa.c.id).where(
                sa.c.assignment_id == self.assignment_id, sa.c.student_id.in_(students)
            )
        )
        submissions = dict(found.all())
        if new := [s for s in students if s not in submissions]:
            rows = [{"id": uuid4().hex, "student_id": s, "timestamp": timestamps.get(s)} for s in new]
            _insert(db, sa, [{**row, "assignment_id": self.assignment_id} for row in rows])
            submissions.update((row["student_id"], row["id"]) for row in rows)
        name_of = {notebook.id: name for name, notebook in self.notebooks.items()}
        owner = {submission: s for s, submission in submissions.items()}
        found = db.execute(
            select(sn.c.id, sn.c.assignment_id, sn.c.notebook_id).where(
                sn.c.notebook_id.in_(list(name_of)),
                sn.c.assignment_id.in_(list(owner)),  # nbgrader's index: (notebook, submission)
            )
        )
        ids = {(owner[row.assignment_id], name_of[row.notebook_id]): row.id for row in found}
        rows = [
            {"id": uuid4().hex, "assignment_id": submissions[s], "notebook_id": notebook.id, "flagged": False}
            for s in students
            for name, notebook in self.notebooks.items()
            if (s, name) not in ids
        ]
        if rows:
            _insert(db, sn, rows)
            ids.update(((owner[row["assignment_id"]], name_of[row["notebook_id"]]), row["id"]) for row in rows)
        return ids

    def _write(self, db, batch: list[Results]) -> None:
        sa, sn = _table("submitted_assignment"), _table("submitted_notebook")
        timestamps = {r.student: r.timestamp for r in batch if r.timestamp is not None}
        ids = self._submitted_notebooks(db, [r.student for r in batch], timestamps)
        if timestamps:
            db.execute(
                update(sa)
                .where(sa.c.assignment_id == self.assignment_id, sa.c.student_id == bindparam("who"))
                .values(timestamp=bindparam("when")),
                [{"who": s, "when": t} for s, t in timestamps.items()],
            )
        notebooks, scores, comments = [], {}, {}
        for results in batch:
            for name, graded in results.notebooks.items():
                nb_id, cells = ids[results.student, name], self.notebooks[name]
                notebooks.append({"nb": nb_id, "penalty": graded.late_penalty, "flag": graded.flagged or results.flag})
                scores.update(((nb_id, cells.grades[cell]), score) for cell, score in graded.scores.items())
                comments.update(((nb_id, cells.comments[cell]), text) for cell, text in graded.comments.items())
        db.execute(
            update(sn)
            .where(sn.c.id == bindparam("nb"))
            .values(
                late_submission_penalty=bindparam("penalty"),
                flagged=or_(sn.c.flagged, bindparam("flag", type_=Boolean)),
            ),
            notebooks,
        )
        grade, comment = _table("grade"), _table("comment")
        # nbgrader's rule (SaveAutoGrades): an item needs a person when it has a manual score to review or no
        # auto score; for a grade that exists, the database decides it from the row as the update finds it
        new = self._add_rows(
            db, grade, ids, "grades", scores, lambda auto: {"auto_score": auto, "needs_manual_grade": auto is None}
        )
        _update_many(
            db,
            grade,
            {"auto": Float, "missing": Boolean},
            lambda v: {
                "auto_score": v["auto"],
                "needs_manual_grade": or_(grade.c.manual_score.is_not(None), v["missing"]),
            },
            [(*key, auto, auto is None) for key, auto in scores.items() if key not in new],
        )
        new = self._add_rows(db, comment, ids, "comments", comments, lambda text: {"auto_comment": text})
        _update_many(
            db,
            comment,
            {"text": Text},
            lambda v: {"auto_comment": v["text"]},
            [(*key, text) for key, text in comments.items() if key not in new],
        )

    def _add_rows(self, db, table, ids: dict, cells: str, merged: dict, fields: Callable[[object], dict]) -> set:
        """Add the grade or comment rows that the submitted notebooks ``ids`` lack (as nbgrader's
        ``add_submission``: one for each of the notebook's ``cells``), with the merged values; return their keys."""
        cell_ids = {cell_id for notebook in self.notebooks.values() for cell_id in getattr(notebook, cells).values()}
        found = db.execute(  # by nbgrader's index on (cell, notebook): a look-up, not a scan of every student's rows
            select(table.c.notebook_id, table.c.cell_id).where(
                table.c.cell_id.in_(cell_ids), table.c.notebook_id.in_(list(ids.values()))
            )
        )
        existing = set(map(tuple, found))
        rows = {
            (nb_id, cell_id): {"id": uuid4().hex, "notebook_id": nb_id, "cell_id": cell_id}
            for (_, name), nb_id in ids.items()
            for cell_id in getattr(self.notebooks[name], cells).values()
            if (nb_id, cell_id) not in existing
        }
        if rows:
            _insert(db, table, [{**row, **fields(merged.get(key))} for key, row in rows.items()])
        return set(rows)


def _insert(db, table, rows: list[dict]) -> None:
    """Insert rows: one statement, many parameter sets (psycopg sends them in one pipeline)."""
    db.execute(table.insert(), rows)


def _update_many(db, table, types: dict, assignments: Callable[[dict], dict], rows: list[tuple]) -> None:
    """Update the grade or comment rows given as (submitted notebook, cell, *values of ``types``): one
    statement, many parameter sets (psycopg sends them in one pipeline)."""
    if rows:
        params = {n: bindparam(n, type_=t) for n, t in types.items()}
        where = (table.c.notebook_id == bindparam("nb"), table.c.cell_id == bindparam("cell"))
        db.execute(
            update(table).where(*where).values(assignments(params)),
            [dict(zip(["nb", "cell", *types], row)) for row in rows],
        )


def record_lms_ids(db_url: str, ids: dict[str, str]) -> None:
    """Keep the students' LMS user ids (nbgrader's ``lms_user_id``), adding the students not yet in the
    gradebook as nbgrader's ``update_or_create_student`` does: ``BATCH`` students a transaction."""
    student = _table("student")
    engine = create_engine(db_url)
    try:
        pairs = list(ids.items())
        for start in range(0, len(pairs), BATCH):
            batch = dict(pairs[start : start + BATCH])
            with engine.begin() as db:
                known = set(db.scalars(select(student.c.id).where(student.c.id.in_(batch))))
                if missing := [{"id": s, "lms_user_id": i} for s, i in batch.items() if s not in known]:
                    _insert(db, student, missing)
                if known:
                    db.execute(
                        update(student).where(student.c.id == bindparam("sid")).values(lms_user_id=bindparam("lms")),
                        [{"sid": s, "lms": batch[s]} for s in known],
                    )
    finally:
        engine.dispose()


def merge_autograde(db_url: str, worker_db_url: str, student: str, assignment: str = ASSIGNMENT) -> float:
    """Copy a student's autograder results from a worker's gradebook; return the auto points."""
    results = read_results(worker_db_url, student, assignment)
    with Writer(db_url, assignment) as writer:
        writer.merge([results])
    return results.points


def record_ungradable(db_url: str, student: str, assignment: str = ASSIGNMENT) -> None:
    """A submission that nbgrader could not grade at all (``Writer.ungradable``)."""
    with Writer(db_url, assignment) as writer:
        writer.merge([writer.ungradable(student)])


def manual_overrides(db_url: str, student: str, assignment: str = ASSIGNMENT) -> list[tuple[str, float, float | None]]:
    """A student's auto-graded cells whose manual score overrides the automatic one (``Writer.overrides``)."""
    with Writer(db_url, assignment) as writer:
        return writer.overrides([student])[student]
