"""Collecting notebooks from a folder or an LMS zip into submitted/<student>/assignment12/."""

import os
import resource
import struct
import zipfile
from datetime import UTC, datetime

import pytest
from nbgrader.api import Gradebook

from autograder.course.collect import MAX_NOTEBOOK_BYTES, CollectError, collect
from autograder.course.coursedir import UsageError

from .conftest import new_gradebook

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


def test_canvas_user_ids_are_kept_for_new_and_known_students(course):
    url = new_gradebook(course / "gradebook.db")
    with Gradebook(url) as gb:
        gb.add_student("doejane", first_name="Jane", last_name="Doe", lms_user_id="old")
    collect(
        course,
        canvas_zip(course / "canvas.zip", ["doejane_11_22_assignment12.ipynb", "roeric_12_23_x.ipynb"]),
        names="canvas",
    )
    with Gradebook(url) as gb:
        students = {s.id: (s.lms_user_id, s.first_name, s.last_name) for s in gb.students}
    assert students == {"doejane": ("11", "Jane", "Doe"), "roeric": ("12", None, None)}


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


def test_of_two_notebooks_of_one_student_the_later_is_taken_and_named(tmp_path):
    download = tmp_path / "download"
    (download / "ada").mkdir(parents=True)
    (download / "ada" / "assignment12.ipynb").write_bytes(NOTEBOOK)
    (download / "ada.ipynb").write_bytes(NOTEBOOK + b"\n")
    os.utime(download / "ada" / "assignment12.ipynb", (1e9, 1e9))
    (download / "bob.ipynb").write_bytes(NOTEBOOK)
    lines = collect(tmp_path, download)
    assert submitted(tmp_path, "ada").read_bytes() == NOTEBOOK + b"\n"
    assert submitted(tmp_path, "bob").exists()
    assert any("not taken: ada/assignment12.ipynb" in line for line in lines)


def test_canvas_resubmissions_the_highest_suffix_is_taken_for_that_student_only(course):
    names = [
        "doejane_11_22_assignment12-2.ipynb",
        "doejane_11_22_assignment12.ipynb",
        "doejane_11_22_assignment12-1.ipynb",
        "roejohn_12_23_assignment12.ipynb",
    ]
    with zipfile.ZipFile(course / "download.zip", "w") as archive:
        for number, name in enumerate(names):  # the oldest time for the latest resubmission: the suffix decides
            archive.writestr(zipfile.ZipInfo(name, (2026, 12, 1, 10, 59 - number, 0)), NOTEBOOK + b" " * number)
    lines = collect(course, course / "download.zip", names="canvas")
    assert submitted(course, "doejane").read_bytes() == NOTEBOOK
    assert submitted(course, "roejohn").read_bytes() == NOTEBOOK + b"   "
    taken = next(line for line in lines if line.startswith("doejane"))
    assert taken.split("<- ")[1].startswith("doejane_11_22_assignment12-2.ipynb")
    assert any("not taken: doejane_11_22_assignment12.ipynb, doejane_11_22_assignment12-1.ipynb" in x for x in lines)


def test_a_zip_bomb_is_refused_from_its_header_without_reading_it(tmp_path):
    bomb = tmp_path / "download.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.ipynb", "w", force_zip64=True) as member:
            for _ in range(MAX_NOTEBOOK_BYTES // 2**24 + 1):
                member.write(bytes(2**24))
        archive.writestr("ada.ipynb", NOTEBOOK)
    assert bomb.stat().st_size < 2_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lines = collect(tmp_path, bomb)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # kB: never held in memory
    assert any(line.startswith("refused: bomb.ipynb: 201 MB unpacked, over the 200 MB limit") for line in lines)
    assert submitted(tmp_path, "ada").exists() and not submitted(tmp_path, "bomb").exists()


def test_a_member_larger_than_its_header_says_is_not_kept(tmp_path):
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("ada.ipynb", NOTEBOOK)
    data = bytearray(download.read_bytes())
    for header, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # the unpacked size, a byte short
        start = data.find(header) + at
        data[start : start + 4] = struct.pack("<I", len(NOTEBOOK) - 1)
    download.write_bytes(data)
    with pytest.raises((CollectError, zipfile.BadZipFile)):
        collect(tmp_path, download)
    assert not submitted(tmp_path, "ada").exists()
    assert not list((tmp_path / "submitted" / "ada" / "assignment12").glob("*"))


def test_unsafe_and_undecodable_names_are_refused_by_name_and_the_rest_collected(tmp_path):
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for name in ("../../evil.ipynb", "/etc/evil.ipynb", "Zoe.ipynb", "ada.ipynb"):
            archive.writestr(name, NOTEBOOK)
    data = bytearray(download.read_bytes())
    for header, flags, name in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):  # Zoe: not UTF-8, says UTF-8
        at = -1
        while (at := data.find(header, at + 1)) >= 0:
            if data[at + name : at + name + 3] == b"Zoe":
                data[at + name + 1 : at + name + 3] = b"\xff\xfe"
                data[at + flags + 1] |= 0x08  # the UTF-8 flag, 0x800 (little-endian)
    download.write_bytes(data)
    lines = collect(tmp_path, download)
    assert "refused: Z\\xff\\xfe.ipynb: the name is not valid UTF-8; rename the file and collect it again" in lines
    assert "refused: ../../evil.ipynb: an absolute name, or one that leads out of the folder" in lines
    assert "refused: /etc/evil.ipynb: an absolute name, or one that leads out of the folder" in lines
    assert [p.name for p in (tmp_path / "submitted").iterdir()] == ["ada"]
    assert not (tmp_path.parent / "evil.ipynb").exists()


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
