"""Late submissions: the course's penalty plugin, times as nbgrader reads them, and the whole pipeline
(`a12 release --due`, `a12 collect --times`, `a12 autograde`, an extension, `a12 export`)."""

import csv
from datetime import datetime, timedelta

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder.course import coursedir, demo, late

from .conftest import ROOT
from .support.workflow import a12

DAY = 24 * 3600


@pytest.mark.parametrize("seconds, share", [(0, 0), (1, 0.1), (DAY, 0.1), (DAY + 1, 0.2), (30 * DAY, 1.0)])
def test_per_day_penalty_takes_a_share_for_every_started_day(seconds, share):
    assert late.PerDayPenalty().late_submission_penalty("ada", 30.0, seconds) == pytest.approx(30 * share)


def test_grace_minutes_cost_nothing():
    plugin = late.PerDayPenalty(grace_minutes=15)
    assert plugin.late_submission_penalty("ada", 30.0, 15 * 60) == 0
    assert plugin.late_submission_penalty("ada", 30.0, 15 * 60 + 1) == 3.0


def test_times_need_a_time_zone_and_are_stored_as_utc():
    assert late.parse_time("2027-01-15T23:59+01:00") == datetime(2027, 1, 15, 22, 59)
    assert parse_utc(late.timestamp_text(datetime(2027, 1, 15, 22, 59))) == datetime(2027, 1, 15, 22, 59)
    with pytest.raises(ValueError, match="no time zone"):
        late.parse_time("2027-01-15T23:59")
    assert late.late_text(DAY + 2 * 3600) == "1 d 2 h" and late.late_text(61) == "2 min" and late.late_text(0) == ""


STUDENTS = {  # student: submission time in the CSV (None: not in it), extension
    "ontime": ("2027-01-15T23:00+01:00", None),
    "late": ("2027-01-17T10:00+01:00", None),  # 34 h 1 min late: 2 started days, 20 %
    "extended": ("2027-01-17T10:00+01:00", timedelta(days=2)),
    "unknown": (None, None),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory, mnist_root):
    """A course due 2027-01-15T23:59+01:00: four blank notebooks collected with a CSV of times,
    autograded by nbgrader, their free-text answers given full points, one extension, exported."""
    folder = tmp_path_factory.mktemp("late")
    root = folder / "course"
    root.mkdir()
    demo.build_course(root, ROOT)
    a12(root, "release", "--due", "2027-01-15T23:59+01:00")
    download = folder / "download"
    download.mkdir()
    blank = nbformat.read(root / "release" / "assignment12" / "assignment12.ipynb", as_version=4)
    for student in STUDENTS:
        nbformat.write(blank, download / f"{student}.ipynb")
    (folder / "times.csv").write_text("student,time\n" + "".join(f"{s},{t}\n" for s, (t, _) in STUDENTS.items() if t))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_ROOT", str(mnist_root))
        a12(root, "collect", download, "--times", folder / "times.csv")
        a12(root, "autograde", "--workers", 2)
    with Gradebook(coursedir.db_url(root)) as gb:
        for student, (_, extension) in STUDENTS.items():
            submission = gb.find_submission("assignment12", student)
            submission.extension = extension
            for grade in submission.notebooks[0].grades:
                if grade.cell.cell_type == "markdown":
                    grade.manual_score, grade.needs_manual_grade = grade.max_score, False
        gb.db.commit()
    a12(root, "export", "--lms", "canvas")
    with open(root / "export" / "assignment12-scores.csv") as f:
        return root, {row["student"]: row for row in csv.DictReader(f)}


def test_nbgrader_reads_the_times_and_the_due_date(exported):
    root, _ = exported
    with Gradebook(coursedir.db_url(root)) as gb:
        assert gb.find_assignment("assignment12").duedate == datetime(2027, 1, 15, 22, 59)
        assert gb.find_submission("assignment12", "late").timestamp == datetime(2027, 1, 17, 9, 0)
        assert gb.find_submission("assignment12", "unknown").timestamp is None


def test_export_shows_times_lateness_penalty_and_both_totals(exported):
    _, rows = exported
    for row in rows.values():  # the blank release: 0 auto-graded points, 29 for the free-text answers
        assert row["total (42)"] == "29" and row["due"] in ("2027-01-15 22:59:00 UTC", "2027-01-17 22:59:00 UTC")
    assert [rows["ontime"][c] for c in ("submitted", "late by", "late penalty", "total after penalty (42)")] == [
        "2027-01-15 22:00:00 UTC",
        "",
        "",
        "29",
    ]
    assert [rows["late"][c] for c in ("submitted", "late by", "late penalty", "total after penalty (42)")] == [
        "2027-01-17 09:00:00 UTC",
        "1 d 10 h",
        "5.8",
        "23.2",
    ]
    assert rows["extended"]["due"] == "2027-01-17 22:59:00 UTC" and rows["extended"]["late penalty"] == ""
    assert rows["extended"]["total after penalty (42)"] == "29"
    assert rows["unknown"]["submitted"] == "unknown" and rows["unknown"]["total after penalty (42)"] == "29"


def test_the_summary_lists_the_late_submission(exported):
    root, _ = exported
    page = (root / "export" / "assignment12-summary.html").read_text()
    table = page.split("<h2>Late submissions</h2>")[1]
    assert "<td>late</td>" in table and "<td>23.2</td>" in table and "extended" not in table
    assert "Due date: 2027-01-15 22:59:00 UTC" in page
