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
import warnings
from pathlib import Path

from nbgrader.api import Base, Comment, Grade, Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

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


def _submission(gb: Gradebook, student: str, assignment: str):
    try:
        gb.find_student(student)
    except MissingEntry:
        gb.add_student(student)
    with warnings.catch_warnings():  # nbgrader's add_submission trips an SQLAlchemy 2 warning, harmless
        warnings.simplefilter("ignore", SAWarning)
        return gb.update_or_create_submission(assignment, student)


def _needs_manual_grade(grade) -> bool:
    return grade.manual_score is not None or grade.auto_score is None


def _locked(gb: Gradebook, model, notebook_id: str) -> list:
    """A submitted notebook's grades or comments, read afresh and locked until the transaction ends."""
    return gb.db.query(model).filter(model.notebook_id == notebook_id).with_for_update().populate_existing().all()


def merge_autograde(db_url: str, worker_db_url: str, student: str, assignment: str = ASSIGNMENT) -> float:
    """Copy a student's autograder results from a worker's gradebook; return the auto points."""
    with Gradebook(worker_db_url) as worker, Gradebook(db_url) as gb:
        graded = worker.find_submission(assignment, student)
        submission = _submission(gb, student, assignment)
        try:
            if graded.timestamp is not None:
                submission.timestamp = graded.timestamp
            for graded_nb in graded.notebooks:
                notebook = gb.find_submission_notebook(graded_nb.name, assignment, student)
                notebook.late_submission_penalty = graded_nb.late_submission_penalty
                notebook.flagged = notebook.flagged or graded_nb.flagged  # a flag the autograder raised
                grades = {g.name: g for g in _locked(gb, Grade, notebook.id)}
                for source in graded_nb.grades:
                    grade = grades[source.name]
                    grade.auto_score = source.auto_score
                    grade.needs_manual_grade = _needs_manual_grade(grade)
                comments = {c.name: c for c in _locked(gb, Comment, notebook.id)}
                for source in graded_nb.comments:
                    comments[source.name].auto_comment = source.auto_comment
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise
        return sum(g.auto_score or 0 for nb in graded.notebooks for g in nb.grades if g.cell.cell_type == "code")


def record_ungradable(db_url: str, student: str, assignment: str = ASSIGNMENT) -> None:
    """A submission that nbgrader could not grade at all: 0 on every auto-graded item, flagged for review.

    Its free-text answers stay as they were (ungraded, or graded by hand before).
    """
    with Gradebook(db_url) as gb:
        submission = _submission(gb, student, assignment)
        try:
            for notebook in submission.notebooks:
                notebook.flagged = True
                for grade in _locked(gb, Grade, notebook.id):
                    if grade.cell.cell_type == "code":
                        grade.auto_score = 0
                        grade.needs_manual_grade = _needs_manual_grade(grade)
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise


def flag(db_url: str, student: str, assignment: str = ASSIGNMENT) -> None:
    """Flag a student's submitted notebooks for review (formgrader shows the flag)."""
    with Gradebook(db_url) as gb:
        for notebook in gb.find_submission(assignment, student).notebooks:
            notebook.flagged = True
        gb.db.commit()


def manual_overrides(db_url: str, student: str, assignment: str = ASSIGNMENT) -> list[tuple[str, float, float | None]]:
    """The auto-graded cells of a student whose manual score overrides the automatic one: (cell, manual, auto).

    Formgrader lets a grader do that on purpose; ``a12 autograde`` lists them so that one written by
    anything else is seen (and ``a12 regrade`` reports them against the independent points)."""
    with Gradebook(db_url) as gb:
        return [
            (g.name, g.manual_score, g.auto_score)
            for nb in gb.find_submission(assignment, student).notebooks
            for g in nb.grades
            if g.cell.cell_type == "code" and g.manual_score is not None
        ]
