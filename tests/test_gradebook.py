"""Merging a worker's autograde results into the course's gradebook, through nbgrader's API."""

from nbgrader.api import Gradebook

from autograder.course import gradebook

from .support.gradebooks import AUTO_CELL, MANUAL_CELL, autograded, grades


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
