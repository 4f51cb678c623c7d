"""The record of manual grades: every change of a manual score, extra credit or manual comment.

Database triggers on nbgrader's ``grade`` and ``comment`` tables (SQLite and PostgreSQL) write each
change into ``a12_grade_audit``: the row, the field, the old and the new value, when, and the path.
Nothing that writes the database skips them. The path is what the writer claimed: a process that has
loaded the course's configuration (``claim``) inserts a row into ``a12_audit_claim`` before each
ORM flush and deletes it after, in the same transaction, so the triggers see it and no other
transaction ever does. A write without a claim (``sqlite3``, ``psql``, a script) is recorded as
``other``. The paths: ``formgrader`` (a Jupyter server, where formgrader runs), ``a12``, ``nbgrader``
(its command line), ``other``.

``install`` is idempotent; the claim's listener installs the triggers before a process's first write,
so they come back after nbgrader's migrations rebuild a table.
"""

import getpass
import os
import sys
from dataclasses import dataclass

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

TABLE = "a12_grade_audit"
CLAIM = "a12_audit_claim"
# (table, column): what is recorded
FIELDS = (("grade", "manual_score"), ("grade", "extra_credit"), ("comment", "manual_comment"))
GRADER_PATHS = ("formgrader",)

SQLITE = [
    f"CREATE TABLE IF NOT EXISTS {CLAIM} (id INTEGER PRIMARY KEY, path TEXT NOT NULL, actor TEXT)",
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, "
    "row_id TEXT NOT NULL, field TEXT NOT NULL, old TEXT, new TEXT, changed_at TEXT NOT NULL, "
    "path TEXT NOT NULL, actor TEXT)",
]
SQLITE_TRIGGER = """CREATE TRIGGER IF NOT EXISTS a12_audit_{table}_{column}_{op} AFTER {event} ON {table}
WHEN {condition}
BEGIN
  INSERT INTO {audit} (tbl, row_id, field, old, new, changed_at, path, actor) VALUES (
    '{table}', NEW.id, '{column}', {old}, NEW.{column}, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    COALESCE((SELECT path FROM {claim} ORDER BY id DESC LIMIT 1), 'other'),
    (SELECT actor FROM {claim} ORDER BY id DESC LIMIT 1));
END"""

POSTGRES = [
    f"CREATE TABLE IF NOT EXISTS {CLAIM} (id SERIAL PRIMARY KEY, path TEXT NOT NULL, actor TEXT)",
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id SERIAL PRIMARY KEY, tbl TEXT NOT NULL, row_id TEXT NOT NULL, "
    "field TEXT NOT NULL, old TEXT, new TEXT, changed_at TEXT NOT NULL, path TEXT NOT NULL, actor TEXT)",
]
POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION a12_audit_{table}_{column}() RETURNS trigger AS $$
DECLARE claimed_path TEXT; claimed_actor TEXT; old_value TEXT;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.{column} IS NOT DISTINCT FROM OLD.{column} THEN RETURN NEW; END IF;
    old_value := OLD.{column}::TEXT;
  ELSIF NEW.{column} IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT path, actor INTO claimed_path, claimed_actor FROM {claim} ORDER BY id DESC LIMIT 1;
  INSERT INTO {audit} (tbl, row_id, field, old, new, changed_at, path, actor) VALUES (
    '{table}', NEW.id, '{column}', old_value, NEW.{column}::TEXT,
    to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    COALESCE(claimed_path, 'other'), claimed_actor);
  RETURN NEW;
END $$ LANGUAGE plpgsql"""


def _statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        triggers = []
        for table, column in FIELDS:
            for op, event_name, condition, old in (
                ("update", f"UPDATE OF {column}", f"OLD.{column} IS NOT NEW.{column}", f"OLD.{column}"),
                ("insert", "INSERT", f"NEW.{column} IS NOT NULL", "NULL"),
            ):
                triggers.append(
                    SQLITE_TRIGGER.format(
                        table=table,
                        column=column,
                        op=op,
                        event=event_name,
                        condition=condition,
                        old=old,
                        audit=TABLE,
                        claim=CLAIM,
                    )
                )
        return SQLITE + triggers
    statements = list(POSTGRES)
    for table, column in FIELDS:
        statements.append(POSTGRES_FUNCTION.format(table=table, column=column, audit=TABLE, claim=CLAIM))
        statements.append(f"DROP TRIGGER IF EXISTS a12_audit_{table}_{column} ON {table}")
        statements.append(
            f"CREATE TRIGGER a12_audit_{table}_{column} AFTER INSERT OR UPDATE OF {column} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION a12_audit_{table}_{column}()"
        )
    return statements


TRIGGERS = {f"a12_audit_{table}_{column}" for table, column in FIELDS}


def install_on(connection) -> None:
    """Create the audit tables and triggers through an open SQLAlchemy connection, where missing."""
    sqlite = connection.dialect.name == "sqlite"
    tables = set(
        connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table'")
            if sqlite
            else text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
    )
    if not {"grade", "comment"} <= tables:
        return  # not a gradebook yet: nbgrader creates its tables first
    triggers = set(
        connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            if sqlite
            else text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        ).scalars()
    )
    needed = {f"{name}_{op}" for name in TRIGGERS for op in ("update", "insert")} if sqlite else TRIGGERS
    if {TABLE, CLAIM} <= tables and needed <= triggers:
        return
    for statement in _statements(connection.dialect.name):
        connection.execute(text(statement))


def install(db_url: str) -> None:
    """Create the audit tables and triggers in a gradebook (idempotent)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            install_on(connection)
    finally:
        engine.dispose()


_claimed_path: str | None = None
_installed: set[str] = set()


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user} pid {os.getpid()}"


def _before_flush(session, flush_context, instances) -> None:
    connection = session.connection()
    url = str(connection.engine.url)
    if url not in _installed:
        install_on(connection)
        _installed.add(url)
    if _claimed_path is not None and (session.dirty or session.new):
        connection.execute(
            text(f"INSERT INTO {CLAIM} (path, actor) VALUES (:p, :a)"), {"p": _claimed_path, "a": _actor()}
        )
        session.info["a12_claimed"] = True


def _after_flush(session, flush_context) -> None:
    if session.info.pop("a12_claimed", False):
        session.connection().execute(text(f"DELETE FROM {CLAIM}"))


def claim(path: str | None = None) -> None:
    """Record this process's ORM writes as ``path`` (default: ``formgrader`` in a Jupyter server, else
    ``a12`` for the ``a12`` command, else ``nbgrader``); idempotent."""
    global _claimed_path
    if path is None:
        path = "formgrader" if in_jupyter_server() else "nbgrader"
    if _claimed_path in (None, "nbgrader") or path != "nbgrader":
        _claimed_path = path
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def in_jupyter_server() -> bool:
    """Whether this process is a Jupyter server (where formgrader runs)."""
    serverapp = sys.modules.get("jupyter_server.serverapp")
    return bool(serverapp and serverapp.ServerApp.initialized())


@dataclass(frozen=True)
class Change:
    """One recorded change, with the student and the item it belongs to."""

    changed_at: str
    path: str
    actor: str | None
    student: str | None
    item: str | None
    field: str
    old: str | None
    new: str | None


def changes(db_url: str) -> list[Change]:
    """Every recorded change, oldest first, with its student and item (grade_id)."""
    install(db_url)
    query = text(
        f"""SELECT a.changed_at, a.path, a.actor, sa.student_id, b.name, a.field, a.old, a.new
        FROM {TABLE} a
        LEFT JOIN grade g ON a.tbl = 'grade' AND g.id = a.row_id
        LEFT JOIN comment c ON a.tbl = 'comment' AND c.id = a.row_id
        LEFT JOIN base_cell b ON b.id = COALESCE(g.cell_id, c.cell_id)
        LEFT JOIN submitted_notebook sn ON sn.id = COALESCE(g.notebook_id, c.notebook_id)
        LEFT JOIN submitted_assignment sa ON sa.id = sn.assignment_id
        ORDER BY a.id"""
    )
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [Change(*row) for row in connection.execute(query)]
    finally:
        engine.dispose()


def suspicious(recorded: list[Change]) -> list[Change]:
    """The changes made outside formgrader, where a grader logs in to grade."""
    return [c for c in recorded if c.path not in GRADER_PATHS]
