"""The record of manual grades (``autograder.course.audit``): database triggers in SQLite and PostgreSQL."""

import shutil
import sqlite3

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text

from autograder import ASSIGNMENT
from autograder.course import audit, cli, coursedir, gradebook

from .support.gradebooks import AUTO_CELL, MANUAL_CELL, autograded, grade_by_hand


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, gradebook_url):
    """A gradebook with the audit installed and one autograded student, in SQLite or PostgreSQL."""
    if request.param == "sqlite":
        target = gradebook_url
    else:
        target = coursedir.with_driver(request.getfixturevalue("postgres").database())
        gradebook.definition_copy(gradebook_url, target)
    audit.install(target)
    audit.install(target)  # idempotent
    autograded(target, "ada", {AUTO_CELL: 2.0})
    return target


# a manual score set by SQL alone, as anything with the database file or password could
DIRECT_SCORE = (
    f"UPDATE grade SET manual_score = 7 WHERE cell_id IN (SELECT id FROM base_cell WHERE name = '{MANUAL_CELL}')"
)


def write_directly(url: str, sql: str) -> None:
    """A write that bypasses nbgrader and a12: plain SQL on a connection of its own."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(sql))
    engine.dispose()


def test_every_manual_change_is_recorded_with_its_path(url, monkeypatch):
    monkeypatch.setattr(audit, "_claimed_path", None)
    audit.claim("a12")
    assert audit.changes(url) == []  # autograding touched no manual field
    grade_by_hand(url, "ada", 1.0)  # through nbgrader's API in this process: the a12 path
    write_directly(url, DIRECT_SCORE)
    write_directly(url, "UPDATE comment SET manual_comment = 'well done'")
    recorded = audit.changes(url)
    by_a12 = [c for c in recorded if c.path == "a12"]
    manual_items = {c.item for c in by_a12}
    assert all(c.field == "manual_score" and c.old is None and float(c.new) == 1.0 for c in by_a12)
    assert MANUAL_CELL in manual_items and AUTO_CELL not in manual_items and by_a12[0].student == "ada"
    direct = audit.suspicious(recorded)
    assert {c.path for c in direct} == {"a12", "other"}
    other = [c for c in direct if c.path == "other"]
    assert [(c.student, c.item, c.field, float(c.old), float(c.new)) for c in other if c.field == "manual_score"] == [
        ("ada", MANUAL_CELL, "manual_score", 1.0, 7.0)
    ]
    assert {c.new for c in other if c.field == "manual_comment"} == {"well done"}
    assert all(c.actor is None for c in other)
    # no claim is left behind for another writer to borrow
    with Gradebook(url) as gb:
        assert gb.db.execute(text(f"SELECT count(*) FROM {audit.CLAIM}")).scalar() == 0


def test_a12_merge_is_not_suspicious_and_a12_audit_lists_a_direct_write(
    course, capsys, monkeypatch, tmp_path, empty_gradebook
):
    shutil.copy(empty_gradebook, course / "gradebook.db")
    url = f"sqlite:///{course / 'gradebook.db'}"
    audit.install(url)
    worker = tmp_path / "worker.db"
    shutil.copy(empty_gradebook, worker)
    autograded(f"sqlite:///{worker}", "ada", {AUTO_CELL: 2.0}, comment="auto")
    monkeypatch.setattr(audit, "_claimed_path", None)
    audit.claim("a12")
    gradebook.merge_autograde(url, f"sqlite:///{worker}", "ada", ASSIGNMENT)
    assert audit.changes(url) == []  # autograde's merge changes no manual field
    with sqlite3.connect(course / "gradebook.db") as db:  # a score changed by writing the database directly
        db.execute(DIRECT_SCORE.replace("= 7", "= 2"))
    capsys.readouterr()
    assert cli.main(["--course", str(course), "audit"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and f" other (no claim: a direct write) ada {MANUAL_CELL} manual_score: None -> 2" in out[0]
    assert out[1] == "1 changes recorded; 1 made outside formgrader (with no grader logged in)"
