"""The 42-point score sheet, read from nbgrader's gradebook: one row per student, one column per item.

An item's points are nbgrader's score for its grade cell (a manual score, when a grader gave one,
takes precedence over the autograder's). An item is *not graded yet* while it has neither a manual
score nor an automatic score that needs no review: a free-text answer before a grader scored it, or
an auto-graded item whose autograding did not finish. Such items are marked ``ungraded``, never
counted as 0, and so are the section totals and the total that include them.

Late submissions: each row holds nbgrader's submission time and due date (with the student's
extension); the course's late-submission plugin (``autograder.course.late``) gives the penalty on the total.
"""

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nbgrader.api import Grade, Gradebook, MissingEntry, SubmittedAssignment, SubmittedNotebook
from nbgrader.plugins import LateSubmissionPlugin
from sqlalchemy import select

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course.coursedir import CourseError
from autograder.course.late import late_text, timestamp_text
from autograder.rubric import item_of

UNGRADED = "ungraded"


@dataclass(frozen=True)
class Item:
    """A rubric item: its id, whether nbgrader grades it (auto) or a person (manual), its points."""

    item: str
    kind: str
    max_points: float
    grade_id: str

    @property
    def section(self) -> str:
        return self.item[:-1]


@dataclass
class Row:
    """One student's points per item (None: not graded yet)."""

    student: str
    points: dict[str, float | None]
    submitted: bool = True
    flagged: bool = False
    notes: list[str] = field(default_factory=list)  # how autograding went, from the autograded notebook
    timestamp: datetime | None = None  # when it was submitted (naive UTC), if known
    duedate: datetime | None = None  # the due date with the student's extension (naive UTC)
    seconds_late: float = 0.0
    lms_user_id: str | None = None  # the LMS's id of the student (nbgrader's lms_user_id)
    name: str = ""  # "last name, first name" as the gradebook has it


def autograding_notes(root: Path, student: str, assignment: str = ASSIGNMENT) -> list[str]:
    """What the autograder recorded in a student's autograded notebook (written by nbgrader, outside
    the student's reach): items whose kernel outcome disagreed with the independent grader, the
    independent grader's flags, and grading without confinement."""
    path = root / "autograded" / student / assignment / NOTEBOOK
    try:
        record = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("a12", {})
    except (OSError, ValueError):
        return []
    notes = [
        f"{d['item']}: the notebook's own run gave {d['kernel']}, the independent grader {d['independent']:g} (counted)"
        for d in record.get("disagreements", [])
    ]
    notes += [f"{f['item']}: flagged: {f['reason']}" for f in record.get("flags", [])]
    if record.get("restored"):
        notes.append("test cells deleted from the notebook were restored: " + ", ".join(record["restored"]))
    if record.get("confined") is False:
        notes.append("graded unconfined (a12 autograde --unconfined)")
    return notes


@dataclass
class ScoreSheet:
    items: list[Item]
    rows: list[Row]
    duedate: datetime | None = None  # the assignment's (naive UTC)
    late_plugin: LateSubmissionPlugin | None = None

    @property
    def sections(self) -> dict[str, float]:
        """Each section's maximum, in rubric order."""
        sections: dict[str, float] = {}
        for item in self.items:
            sections[item.section] = sections.get(item.section, 0) + item.max_points
        return sections

    @property
    def max_points(self) -> float:
        return sum(item.max_points for item in self.items)


def _sum(row: Row, items: list[Item]) -> float | None:
    """Points of ``items``; None if any is not graded yet."""
    points = [row.points.get(item.item) for item in items]
    if not row.submitted:
        return 0.0
    return None if any(p is None for p in points) else sum(points)


def section_total(sheet: ScoreSheet, row: Row, section: str) -> float | None:
    return _sum(row, [item for item in sheet.items if item.section == section])


def total(sheet: ScoreSheet, row: Row) -> float | None:
    return _sum(row, sheet.items)


def penalty(sheet: ScoreSheet, row: Row) -> float | None:
    """The late penalty on the total (0 when on time or no policy); None while the total is not known."""
    points = total(sheet, row)
    if points is None or row.seconds_late <= 0 or sheet.late_plugin is None:
        return None if points is None else 0.0
    value = sheet.late_plugin.late_submission_penalty(row.student, points, row.seconds_late)
    return min(max(value or 0.0, 0.0), points)  # as nbgrader bounds it


def total_after_penalty(sheet: ScoreSheet, row: Row) -> float | None:
    points, lost = total(sheet, row), penalty(sheet, row)
    return None if points is None or lost is None else points - lost


def graded_so_far(row: Row) -> float:
    """The points of the items graded so far."""
    return sum(p for p in row.points.values() if p is not None)


def ungraded_items(sheet: ScoreSheet, row: Row) -> list[Item]:
    return [item for item in sheet.items if row.submitted and row.points.get(item.item) is None]


def status(sheet: ScoreSheet, row: Row) -> str:
    if not row.submitted:
        return "no submission"
    left = ungraded_items(sheet, row)
    if not left:
        return "complete"
    return f"{len(left)} item{'s' * (len(left) > 1)} ({sum(i.max_points for i in left):g} points) to grade"


def _is_graded(grade) -> bool:
    return grade.manual_score is not None or (grade.auto_score is not None and not grade.needs_manual_grade)


def read(
    db_url: str, late_plugin: LateSubmissionPlugin | None = None, assignment: str = ASSIGNMENT, root: Path | None = None
) -> ScoreSheet:
    """The score sheet of every student in the gradebook; ``late_plugin`` gives late penalties, ``root``
    (the course) the autograding notes."""
    with Gradebook(db_url) as gb:
        try:
            notebook = gb.find_notebook(NOTEBOOK.removesuffix(".ipynb"), assignment)
        except MissingEntry:
            raise CourseError(f"the gradebook has no {assignment}: run `a12 release` first") from None
        items = sorted(
            (
                Item(item_of(c.name), "auto" if c.cell_type == "code" else "manual", c.max_score, c.name)
                for c in notebook.grade_cells
            ),
            key=lambda i: (tuple(int(n) for n in i.section.split(".")), i.item),
        )
        item_of_cell = {c.id: item_of(c.name) for c in notebook.grade_cells}
        due = gb.find_assignment(assignment).duedate
        # Three queries for the whole class, each on one of nbgrader's unique indexes (its ORM loads a
        # student's grades by notebook alone, which no index serves: a scan of every grade per student).
        sa, sn, grade = SubmittedAssignment, SubmittedNotebook, Grade
        submissions = {
            row.id: row
            for row in gb.db.execute(
                select(sa.id, sa.student_id, sa.timestamp, sa.extension).where(
                    sa.assignment_id == notebook.assignment_id
                )
            )
        }
        owner = {}  # submitted notebook -> submission
        flagged: dict[str, bool] = {}
        for row in gb.db.execute(select(sn.id, sn.assignment_id, sn.flagged).where(sn.notebook_id == notebook.id)):
            if row.assignment_id in submissions:
                owner[row.id] = row.assignment_id
                flagged[row.assignment_id] = flagged.get(row.assignment_id, False) or bool(row.flagged)
        points: dict[str, dict[str, float | None]] = {submission: {} for submission in submissions}
        for row in gb.db.execute(
            select(
                grade.notebook_id, grade.cell_id, grade.auto_score, grade.manual_score, grade.needs_manual_grade
            ).where(grade.cell_id.in_(list(item_of_cell)))
        ):
            if row.notebook_id in owner:
                score = row.manual_score if row.manual_score is not None else row.auto_score
                points[owner[row.notebook_id]][item_of_cell[row.cell_id]] = score if _is_graded(row) else None
        by_student = {row.student_id: row for row in submissions.values()}
        rows = []
        for student in sorted(gb.students, key=lambda s: s.id):
            person = dict(
                lms_user_id=student.lms_user_id, name=", ".join(n for n in (student.last_name, student.first_name) if n)
            )
            submission = by_student.get(student.id)
            if submission is None:
                rows.append(Row(student.id, {}, submitted=False, **person))
                continue
            duedate = due + submission.extension if due is not None and submission.extension is not None else due
            seconds_late = 0.0  # as nbgrader's total_seconds_late
            if submission.timestamp is not None and duedate is not None:
                seconds_late = max(0.0, (submission.timestamp - duedate).total_seconds())
            rows.append(
                Row(
                    student.id,
                    points[submission.id],
                    flagged=flagged.get(submission.id, False),
                    notes=autograding_notes(root, student.id, assignment) if root else [],
                    timestamp=submission.timestamp,
                    duedate=duedate,
                    seconds_late=seconds_late,
                    **person,
                )
            )
    return ScoreSheet(items, rows, due, late_plugin)


def cell(points: float | None) -> str:
    return UNGRADED if points is None else f"{points:g}"


def time_cell(moment: datetime | None) -> str:
    return "" if moment is None else timestamp_text(moment)


LATE_COLUMNS = ["submitted", "due", "late by", "late penalty"]


def late_cells(sheet: ScoreSheet, row: Row) -> list[str]:
    """Submission time, due date (with extension), how late, and the penalty ("" when on time)."""
    if not row.submitted:
        return ["", time_cell(row.duedate), "", ""]
    lost = penalty(sheet, row)
    return [
        time_cell(row.timestamp) or "unknown",
        time_cell(row.duedate),
        late_text(row.seconds_late),
        "" if row.seconds_late <= 0 else cell(lost),
    ]


def write_csv(sheet: ScoreSheet, path: Path) -> Path:
    """The score sheet as CSV: items, section totals, total, what is left to grade, flags."""
    sections = sheet.sections
    header = (
        ["student"]
        + [f"{i.item} ({i.kind}, {i.max_points:g})" for i in sheet.items]
        + [f"{s} total ({m:g})" for s, m in sections.items()]
        + [f"total ({sheet.max_points:g})", "graded so far", "status", "flagged"]
        + LATE_COLUMNS
        + [f"total after penalty ({sheet.max_points:g})", "autograding notes"]
    )
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in sheet.rows:
            items = [cell(row.points.get(i.item)) if row.submitted else "" for i in sheet.items]
            totals = [cell(section_total(sheet, row, s)) for s in sections]
            writer.writerow(
                [row.student]
                + items
                + totals
                + [cell(total(sheet, row)), f"{graded_so_far(row):g}", status(sheet, row), "yes" if row.flagged else ""]
                + late_cells(sheet, row)
                + [cell(total_after_penalty(sheet, row)), "; ".join(row.notes)]
            )
    return path


def table(sheet: ScoreSheet) -> str:
    """The score sheet for a terminal: auto-graded items, section totals, total ("?": not graded yet)."""
    auto = [i for i in sheet.items if i.kind == "auto"]
    sections = sheet.sections
    width = max([7] + [len(r.student) for r in sheet.rows])

    def line(name: str, values: list[str], tail: str = "") -> str:
        cells = [f"{v:>5}" for v in values]
        return f"{name:<{width}} " + " ".join(cells[: len(auto)]) + " | " + " ".join(cells[len(auto) :]) + tail

    def show(points: float | None) -> str:
        return "?" if points is None else f"{points:g}"

    lines = [
        line("item", [i.item for i in auto] + list(sections) + ["total"], " | status"),
        line(
            "max",
            [f"{i.max_points:g}" for i in auto] + [f"{m:g}" for m in sections.values()] + [f"{sheet.max_points:g}"],
        ),
    ]
    for row in sheet.rows:
        values = [show(row.points.get(i.item)) if row.submitted else "-" for i in auto]
        values += [show(section_total(sheet, row, s)) for s in sections] + [show(total(sheet, row))]
        flag = ", flagged" if row.flagged else ""
        late = (
            f", {late_text(row.seconds_late)} late: -{show(penalty(sheet, row))} = {show(total_after_penalty(sheet, row))}"
            if row.submitted and row.seconds_late > 0
            else ""
        )
        lines.append(line(row.student, values, f" | {status(sheet, row)}{flag}, {graded_so_far(row):g} so far{late}"))
    lines.append(f"{'':<{width}} (auto-graded items, then section totals; ?: includes items not graded yet)")
    lines.append(f"due date: {time_cell(sheet.duedate) or 'none set (a12 release --due)'}")
    return "\n".join(lines)
