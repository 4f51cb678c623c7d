"""Collecting notebooks from a folder or an LMS zip into submitted/<student>/assignment12/."""

import zipfile
from datetime import UTC, datetime

import pytest

from autograder.course.collect import CollectError, collect
from autograder.course.coursedir import UsageError

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def submitted(root, student):
    return root / "submitted" / student / "assignment12" / "assignment12.ipynb"


def test_a_folder_of_plain_names_and_of_student_folders(tmp_path):
    download = tmp_path / "download"
    (download / "carl").mkdir(parents=True)
    (download / "ada.ipynb").write_bytes(NOTEBOOK + b" ")
    (download / "carl" / "my work.ipynb").write_bytes(NOTEBOOK)
    (download / ".ipynb_checkpoints").mkdir()
    (download / ".ipynb_checkpoints" / "ada-checkpoint.ipynb").write_bytes(b"old")
    lines = collect(tmp_path, download)
    assert submitted(tmp_path, "ada").read_bytes() == NOTEBOOK + b" "
    assert submitted(tmp_path, "carl").read_bytes() == NOTEBOOK
    assert len(lines) == 2 and all(" new " in line for line in lines)
    assert not (tmp_path / "submitted" / ".ipynb_checkpoints").exists()


def canvas_zip(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, NOTEBOOK)
        archive.writestr("__MACOSX/._doejane_11_22_assignment12.ipynb", b"resource fork")
    return path


def test_a_canvas_zip_late_submissions_included_with_their_times(course):
    download = canvas_zip(
        course / "canvas.zip", ["doejane_11_22_assignment12.ipynb", "roeric_LATE_12_23_assignment12-1.ipynb"]
    )
    with zipfile.ZipFile(download, "a") as archive:  # Canvas's entry time: when the student submitted
        archive.writestr(zipfile.ZipInfo("bobby_13_24_assignment12.ipynb", (2027, 1, 16, 9, 30, 0)), NOTEBOOK)
    lines = collect(course, download, names="canvas")
    assert submitted(course, "doejane").is_file() and submitted(course, "roeric").is_file()
    assert "(late, says the LMS)" in next(line for line in lines if line.startswith("roeric"))
    local = datetime(2027, 1, 16, 9, 30).astimezone(UTC)  # zip times are local times
    assert (submitted(course, "bobby").parent / "timestamp.txt").read_text() == local.strftime(
        "%Y-%m-%d %H:%M:%S UTC\n"
    )


def test_times_from_a_csv_replace_the_zip_times(course):
    download = canvas_zip(course / "canvas.zip", ["doejane_11_22_assignment12.ipynb", "roeric_12_23_x.ipynb"])
    (course / "times.csv").write_text("student,time\ndoejane,2027-01-16T00:30+01:00\n")
    lines = collect(course, download, names="canvas", times=course / "times.csv")
    assert (submitted(course, "doejane").parent / "timestamp.txt").read_text() == "2027-01-15 23:30:00 UTC\n"
    assert not (submitted(course, "roeric").parent / "timestamp.txt").exists()  # not in the CSV: unknown
    assert "submitted 2027-01-15 23:30:00 UTC" in lines[0]
    (course / "times.csv").write_text("doejane,tomorrow\nroeric\n")
    with pytest.raises(UsageError, match="line 1: 'tomorrow' is not a submission time.*\n  line 2: no time"):
        collect(course, download, names="canvas", times=course / "times.csv")


def test_a_plain_folder_has_no_submission_times(tmp_path):
    download = tmp_path / "download"
    download.mkdir()
    (download / "ada.ipynb").write_bytes(NOTEBOOK)
    collect(tmp_path, download)
    assert not (submitted(tmp_path, "ada").parent / "timestamp.txt").exists()


def test_names_that_cannot_be_placed_are_listed_and_nothing_is_collected(course):
    download = canvas_zip(
        course / "canvas.zip", ["doejane_11_22_assignment12.ipynb", "assignment12.ipynb", "final version (2).ipynb"]
    )
    with pytest.raises(CollectError) as error:
        collect(course, download, names="canvas")
    message = str(error.value)
    assert "assignment12.ipynb: the name does not match" in message
    assert "final version (2).ipynb" in message and "Nothing was collected" in message and "--pattern" in message
    assert not (course / "submitted").exists()


def test_a_pattern_must_give_a_usable_student_id(tmp_path):
    download = tmp_path / "download"
    download.mkdir()
    (download / "Jane Doe - assignment12.ipynb").write_bytes(NOTEBOOK)
    with pytest.raises(CollectError, match="'Jane Doe' is not a usable student id"):
        collect(tmp_path, download, pattern=r"(?P<student>.+) - assignment12\.ipynb")
    collect(tmp_path, download, pattern=r"(?P<student>\w+) (?P<last>\w+) - assignment12\.ipynb")
    assert submitted(tmp_path, "Jane").is_file()


@pytest.mark.parametrize(
    "pattern, message",
    [("(?P<student>.+", "is not a regular expression"), (r"(\w+)\.ipynb", "has no \\(\\?P<student>...\\) group")],
)
def test_a_wrong_pattern_is_a_usage_error_before_the_download_is_read(tmp_path, pattern, message):
    with pytest.raises(UsageError, match=message):
        collect(tmp_path, tmp_path / "not read", pattern=pattern)


def test_two_notebooks_of_one_student_are_an_error(tmp_path):
    download = tmp_path / "download"
    (download / "ada").mkdir(parents=True)
    (download / "ada.ipynb").write_bytes(NOTEBOOK)
    (download / "ada" / "assignment12.ipynb").write_bytes(NOTEBOOK)
    with pytest.raises(CollectError, match="all belong to 'ada'; keep one"):
        collect(tmp_path, download)


def test_a_different_earlier_submission_is_replaced_only_with_force(tmp_path):
    download = tmp_path / "download"
    download.mkdir()
    (download / "ada.ipynb").write_bytes(NOTEBOOK)
    collect(tmp_path, download)
    assert "unchanged" in collect(tmp_path, download)[0]
    (download / "ada.ipynb").write_bytes(NOTEBOOK + b"\n")
    with pytest.raises(CollectError, match="already have a different submission"):
        collect(tmp_path, download)
    assert submitted(tmp_path, "ada").read_bytes() == NOTEBOOK
    assert "replaced" in collect(tmp_path, download, force=True)[0]
    assert submitted(tmp_path, "ada").read_bytes() == NOTEBOOK + b"\n"


def test_a_source_that_is_neither_folder_nor_zip_or_missing(tmp_path):
    (tmp_path / "grades.csv").write_text("a,b")
    with pytest.raises(UsageError, match="neither a folder nor a zip"):
        collect(tmp_path, tmp_path / "grades.csv")
    with pytest.raises(UsageError, match="download.zip does not exist"):
        collect(tmp_path, tmp_path / "download.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CollectError, match="no notebooks"):
        collect(tmp_path, tmp_path / "empty")
