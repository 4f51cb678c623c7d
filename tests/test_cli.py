"""`a12`'s messages for usage mistakes: one line that says what to do, exit status 2 (1 for a course
that is not ready), and no traceback."""

import pytest
from nbgrader.api import Gradebook

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import cli, demo

from .conftest import new_gradebook


def run(capsys, *args) -> tuple[int, str]:
    status = cli.main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    return status, err


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["collect", "missing.zip"], 2, "missing.zip does not exist: pass the LMS download"),
        (["collect", ".", "--pattern", "(?P<student>"], 2, "is not a regular expression"),
        (["collect", ".", "--pattern", r"(\w+)\.ipynb"], 2, "has no (?P<student>...) group"),
        (["export"], 1, "no gradebook"),
        (["autograde"], 1, "run `a12 release` first"),
    ],
)
def test_mistakes_get_one_line_with_the_fix(course, capsys, args, status, message):
    code, err = run(capsys, "--course", course, *args)
    assert (code, len(err.splitlines())) == (status, 1) and message in err
    assert not (course / "gradebook.db").exists()  # export before release leaves no empty gradebook


def test_course_may_come_after_the_command(course, capsys, monkeypatch):
    monkeypatch.chdir(course.parent)  # not a course directory
    assert run(capsys, "export", "--course", course)[1].startswith("a12 export: there is no gradebook")
    assert "not inside a course directory" in run(capsys, "export")[1]


def test_autograde_without_submissions_says_to_collect(course, capsys):
    new_gradebook(course / "gradebook.db")
    code, err = run(capsys, "autograde", "--course", course)
    assert code == 1 and err == (
        "a12 autograde: no submissions in submitted/<student>/assignment12/assignment12.ipynb: run `a12 collect` first"
    )


def test_export_of_a_gradebook_without_the_assignment(course, capsys):
    with Gradebook(new_gradebook(course / "gradebook.db")) as gb:
        gb.remove_assignment("assignment12")
    assert run(capsys, "export", "--course", course) == (
        1,
        "a12 export: the gradebook has no assignment12: run `a12 release` first",
    )


def test_a_due_date_without_time_zone_is_a_usage_error(course, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["release", "--course", str(course), "--due", "2027-01-15T23:59"])
    assert exit_.value.code == 2 and "no time zone" in capsys.readouterr().err


def test_the_demo_builds_its_course_from_the_installed_package_outside_any_course(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not inside a course directory
    root = demo.build_course(tmp_path / "course")
    assert (root / "release" / ASSIGNMENT / NOTEBOOK).is_file()
