"""Merging a worker's autograde results into the course's gradebook, through nbgrader's API."""

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import OperationalError

from autograder.course import gradebook

from .support.gradebooks import AUTO_CELL, MANUAL_CELL, autograded, grade_by_hand, grades


def count(url, table):
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(f"select count(*) from {table}").fetchone()[0]


def test_merge_creates_the_student_and_copies_the_auto_results(tmp_path, gradebook_url):
    worker = tmp_path / "worker.db"
    gradebook.snapshot(tmp_path / "gradebook.db", worker)
    autograded(f"sqlite:///{worker}", "ada", {AUTO_CELL: 1.0}, comment="No response.")
    points = gradebook.merge_autograde(gradebook_url, f"sqlite:///{worker}", "ada")
    scores, comments, flagged = grades(gradebook_url, "ada")
    assert points == 1.0
    assert scores[AUTO_CELL] == (1.0, None, None, False)
    assert scores[MANUAL_CELL] == (None, None, None, True)  # a free-text answer waits for a grader
    assert set(comments.values()) == {("No response.", None)}
    assert not flagged


def test_grades_given_by_hand_survive_and_merging_twice_changes_nothing(tmp_path, gradebook_url):
    autograded(gradebook_url, "ada", {AUTO_CELL: 2.0})
    with Gradebook(gradebook_url) as gb:  # a grader's work in formgrader
        notebook = gb.find_submission("assignment12", "ada").notebooks[0]
        for grade in notebook.grades:
            if grade.name in (AUTO_CELL, MANUAL_CELL):
                grade.manual_score, grade.extra_credit, grade.needs_manual_grade = 1.5, 0.5, False
        for comment in notebook.comments:
            comment.manual_comment = "see me"
        notebook.flagged = True
        gb.db.commit()
    worker = tmp_path / "worker.db"
    gradebook.snapshot(tmp_path / "gradebook.db", worker)
    autograded(f"sqlite:///{worker}", "ada", {AUTO_CELL: 1.0})  # graded again: another auto score
    rows = {table: count(gradebook_url, table) for table in ("grade", "comment", "submitted_assignment", "student")}
    for _ in range(2):
        gradebook.merge_autograde(gradebook_url, f"sqlite:///{worker}", "ada")
        scores, comments, flagged = grades(gradebook_url, "ada")
        # nbgrader's rule: a manual score stays, and an item with one is marked for review
        assert scores[AUTO_CELL] == (1.0, 1.5, 0.5, True)
        assert scores[MANUAL_CELL] == (None, 1.5, 0.5, True)
        assert all(manual == "see me" for _, manual in comments.values()) and flagged
        assert {t: count(gradebook_url, t) for t in rows} == rows


def test_an_ungradable_submission_gets_0_on_auto_items_and_a_flag(gradebook_url):
    gradebook.record_ungradable(gradebook_url, "bob")
    scores, _, flagged = grades(gradebook_url, "bob")
    assert flagged
    assert all(s[0] == 0 and not s[3] for name, s in scores.items() if name.startswith("test_"))
    assert all(s[0] is None and s[3] for name, s in scores.items() if name.startswith("answer_"))
    assert len([n for n in scores if n.startswith("test_")]) == 9


def test_snapshot_is_a_working_copy(tmp_path, gradebook_url):
    autograded(gradebook_url, "ada", {AUTO_CELL: 2.0})
    gradebook.snapshot(tmp_path / "gradebook.db", tmp_path / "copy.db")
    assert grades(f"sqlite:///{tmp_path / 'copy.db'}", "ada") == grades(gradebook_url, "ada")


def workers_results(tmp_path, students):
    """Each student's results as a worker's gradebook holds them: 12.6d scored i points for the i-th."""
    results = []
    for i, student in enumerate(students):
        worker = tmp_path / f"{student}.db"
        gradebook.snapshot(tmp_path / "gradebook.db", worker)
        autograded(f"sqlite:///{worker}", student, {AUTO_CELL: float(i)}, comment=f"for {student}")
        results.append(gradebook.read_results(f"sqlite:///{worker}", student))
    return results


def test_a_batch_that_fails_midway_merges_nobody_and_a_rerun_merges_everyone(tmp_path, gradebook_url, monkeypatch):
    students = [f"s{i}" for i in range(5)]
    results = workers_results(tmp_path, students)
    autograded(gradebook_url, "s1", {AUTO_CELL: 9.0})  # merged before, with other scores
    grade_by_hand(gradebook_url, "s1", 0.5)
    before = grades(gradebook_url, "s1")
    monkeypatch.setattr(gradebook, "BATCH", 3)
    written = []
    update_many = gradebook._update_many

    def crash_in_the_second_batch(db, table, *args):
        written.append(table.name)
        if len(written) == 3:  # the second batch: its students, submissions and notebooks are written
            raise RuntimeError("killed")
        update_many(db, table, *args)

    with gradebook.Writer(gradebook_url) as writer:
        monkeypatch.setattr(gradebook, "_update_many", crash_in_the_second_batch)
        with pytest.raises(RuntimeError, match="killed"):
            writer.merge(results[::-1])  # s4 s3 s2 | s1 s0
        assert writer.submitted() == {"s1", "s2", "s3", "s4"}  # the first batch, and s1 from before
        assert grades(gradebook_url, "s1") == before
        assert written == ["grade", "comment", "grade"]
        monkeypatch.setattr(gradebook, "_update_many", update_many)
        writer.merge(results)  # the rerun
        assert writer.submitted() == set(students)
    for i, student in enumerate(students):
        scores, comments, _ = grades(gradebook_url, student)
        assert scores[AUTO_CELL][0] == i and set(comments.values()) == {(f"for {student}", None)}
    assert grades(gradebook_url, "s1")[0][MANUAL_CELL] == (None, 0.5, None, True)  # kept, to be reviewed


def test_a_batch_that_conflicts_with_another_writer_is_tried_again(tmp_path, gradebook_url, monkeypatch):
    (results,) = workers_results(tmp_path, ["ada"])
    write, calls = gradebook.Writer._write, []

    def locked_once(self, db, batch):
        calls.append(len(batch))
        if len(calls) == 1:
            write(self, db, batch)  # written, then the database says no: nothing of it stays
            raise OperationalError("UPDATE grade", {}, Exception("database is locked"))
        write(self, db, batch)

    monkeypatch.setattr(gradebook.Writer, "_write", locked_once)
    with gradebook.Writer(gradebook_url) as writer:
        writer.merge([results])
    assert calls == [1, 1]
    assert grades(gradebook_url, "ada")[0][AUTO_CELL] == (0.0, None, None, False)
    assert count(gradebook_url, "grade") == len(grades(gradebook_url, "ada")[0])
