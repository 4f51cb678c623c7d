"""Collecting notebooks from a folder or an LMS zip into submitted/<student>/assignment12/."""
import zipfile

import pytest

from autograder.collect import CollectError, collect

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


def test_a_canvas_zip_late_submissions_included(tmp_path):
    download = canvas_zip(tmp_path / "canvas.zip", ["doejane_11_22_assignment12.ipynb",
                                                    "roeric_LATE_12_23_assignment12-1.ipynb"])
    collect(tmp_path, download, names="canvas")
    assert submitted(tmp_path, "doejane").is_file() and submitted(tmp_path, "roeric").is_file()


def test_names_that_cannot_be_placed_are_listed_and_nothing_is_collected(tmp_path):
    download = canvas_zip(tmp_path / "canvas.zip", ["doejane_11_22_assignment12.ipynb", "assignment12.ipynb",
                                                    "final version (2).ipynb"])
    with pytest.raises(CollectError) as error:
        collect(tmp_path, download, names="canvas")
    message = str(error.value)
    assert "assignment12.ipynb: the name does not match" in message
    assert "final version (2).ipynb" in message and "Nothing was collected" in message and "--pattern" in message
    assert not (tmp_path / "submitted").exists()


def test_a_pattern_must_give_a_usable_student_id(tmp_path):
    download = tmp_path / "download"
    download.mkdir()
    (download / "Jane Doe - assignment12.ipynb").write_bytes(NOTEBOOK)
    with pytest.raises(CollectError, match="'Jane Doe' is not a usable student id"):
        collect(tmp_path, download, pattern=r"(?P<student>.+) - assignment12\.ipynb")
    collect(tmp_path, download, pattern=r"(?P<student>\w+) (?P<last>\w+) - assignment12\.ipynb")
    assert submitted(tmp_path, "Jane").is_file()


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


def test_a_source_that_is_neither_folder_nor_zip(tmp_path):
    (tmp_path / "grades.csv").write_text("a,b")
    with pytest.raises(CollectError, match="neither a folder nor a zip"):
        collect(tmp_path, tmp_path / "grades.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CollectError, match="no notebooks"):
        collect(tmp_path, tmp_path / "empty")
