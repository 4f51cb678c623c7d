"""Collect submitted notebooks, from a folder or an LMS zip, into ``submitted/<student>/assignment12/``.

Each notebook's path (relative to the folder or zip) must tell whose it is, by one of the ``NAMES``
patterns or a regular expression with a ``(?P<student>...)`` group. Nothing is copied unless every
notebook can be placed: the error lists each name that could not, and how to fix it.

Each submission's time goes to nbgrader's ``timestamp.txt`` beside it (``autograder.course.late``): from a
CSV of student,time that the instructor passes, or else, for a zip that an LMS made (``--names``
other than plain), from the zip entry's time, read as this computer's local time.
"""

import csv
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from nbgrader.api import Gradebook

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course.coursedir import CourseError, UsageError, gradebook_url
from autograder.course.late import parse_time, timestamp_text

NAMES = {
    # <student>.ipynb, or <student>/<any name>.ipynb (a folder per student)
    "plain": r"(?P<student>[^/]+?)\.ipynb|(?P<folder>[^/]+)/[^/]+\.ipynb",
    # Canvas: <name>_[late_]<user id>_<submission id>_<file name>.ipynb
    "canvas": r"(?P<student>[A-Za-z0-9]+)_(?P<late>late_)?(?P<lms_user_id>\d+)_\d+_[^/]*\.ipynb",
}
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")
IGNORED = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints)/|(^|/)\.")


class CollectError(Exception):
    """Some notebooks could not be placed; the message lists them and says what to do."""


@dataclass(frozen=True)
class Placed:
    """A notebook found in the download, the student it belongs to, and whether the LMS marked it late."""

    name: str  # path inside the folder or zip
    student: str
    late: bool = False
    lms_user_id: str | None = None  # the LMS's own id of the student (Canvas: the user id in the name)


@dataclass(frozen=True)
class Found:
    """A notebook of the download and, for a zip, its entry's time (naive local time)."""

    data: bytes
    zip_time: datetime | None = None


def student_of(name: str, pattern: re.Pattern) -> tuple[str, bool, str | None]:
    """The student id that ``pattern`` reads from a notebook's path, its late marker and LMS user id;
    ValueError says why not."""
    match = pattern.fullmatch(name)
    if not match:
        raise ValueError("the name does not match the pattern")
    groups = match.groupdict()
    student = groups.get("student") or groups.get("folder")
    if not student or not STUDENT_ID.fullmatch(student):
        raise ValueError(f"{student!r} is not a usable student id (letters, digits, and _ . @ - after the first)")
    return student, bool(groups.get("late")), groups.get("lms_user_id")


def notebooks_in(source: Path) -> dict[str, Found]:
    """The notebooks of a folder or zip, by their path inside it (hidden and checkpoint files left out)."""
    if not source.exists():
        raise UsageError(f"{source} does not exist: pass the LMS download (.zip) or a folder of notebooks")
    if source.is_dir():
        paths = {p.relative_to(source).as_posix(): p for p in source.rglob("*.ipynb")}
        return {name: Found(path.read_bytes()) for name, path in sorted(paths.items()) if not IGNORED.search(name)}
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            return {
                info.filename: Found(archive.read(info), datetime(*info.date_time))
                for info in archive.infolist()
                if info.filename.endswith(".ipynb") and not info.is_dir() and not IGNORED.search(info.filename)
            }
    raise UsageError(
        f"{source} is neither a folder nor a zip file: pass the LMS download (.zip) or a folder of notebooks"
    )


def compile_pattern(pattern: str) -> re.Pattern:
    """A --pattern as a regular expression with a student group; UsageError says what is wrong."""
    try:
        regex = re.compile(pattern, re.I)
    except re.error as error:
        raise UsageError(
            f"--pattern {pattern!r} is not a regular expression ({error}): quote it, and write "
            r"it like '(?P<student>\w+)_assignment12\.ipynb'"
        ) from None
    if "student" not in regex.groupindex and "folder" not in regex.groupindex:
        raise UsageError(
            f"--pattern {pattern!r} has no (?P<student>...) group: name the part of the path that "
            r"is the student id, like '(?P<student>\w+)_assignment12\.ipynb'"
        )
    return regex


def read_times(path: Path) -> dict[str, datetime]:
    """Submission times from a CSV of student,time (ISO 8601 with a time zone; a header row is allowed)."""
    if not path.is_file():
        raise UsageError(f"--times {path} does not exist: pass a CSV of student,time rows")
    times, problems = {}, []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not row or (number == 1 and row[0].strip().lower() == "student"):
                continue
            try:
                times[row[0].strip()] = parse_time(row[1], "submission time")
            except (IndexError, ValueError) as error:
                problems.append(f"  line {number}: {error if row[1:] else 'no time after the student id'}")
    if problems:
        raise UsageError(f"--times {path} has rows that are not student,time:\n" + "\n".join(problems))
    return times


def place(names: list[str], pattern: str) -> list[Placed]:
    """Whose each notebook is; CollectError lists every name that cannot be placed, and duplicates."""
    regex = compile_pattern(pattern)
    placed, problems = [], []
    for name in names:
        try:
            placed.append(Placed(name, *student_of(str(PurePosixPath(name)), regex)))
        except ValueError as error:
            problems.append(f"  {name}: {error}")
    by_student: dict[str, list[str]] = {}
    for p in placed:
        by_student.setdefault(p.student, []).append(p.name)
    problems += [
        f"  {', '.join(names)}: all belong to '{student}'; keep one"
        for student, names in by_student.items()
        if len(names) > 1
    ]
    if problems:
        raise CollectError(
            "cannot tell whose these notebooks are:\n" + "\n".join(problems) + "\n"
            f"The pattern was {pattern!r}. Rename the files (<student>.ipynb, or <student>/"
            f"{NOTEBOOK}), or choose --names ({', '.join(NAMES)}) or a --pattern with a "
            "(?P<student>...) group. Nothing was collected."
        )
    return placed


def submission_time(placed: Placed, found: Found, times: dict[str, datetime] | None, from_zip: bool) -> datetime | None:
    """When a notebook was submitted (naive UTC): the CSV's time, else the LMS zip entry's time, else unknown."""
    if times is not None:
        return times.get(placed.student)
    if from_zip and found.zip_time is not None:
        return found.zip_time.astimezone(UTC).replace(tzinfo=None)
    return None


def collect(
    root: Path,
    source: Path,
    names: str = "plain",
    pattern: str | None = None,
    force: bool = False,
    times: Path | None = None,
) -> list[str]:
    """Copy every notebook of ``source`` to ``submitted/<student>/assignment12/``; return a line for each.

    Each submission's time, when known (``times``: a CSV of student,time; or an LMS zip's entry
    times), goes to nbgrader's ``timestamp.txt`` beside it. A different notebook already there is
    replaced only with ``force``; nothing is copied unless all notebooks can be placed.
    """
    if pattern is None and names not in NAMES:
        raise UsageError(f"unknown --names {names!r}: choose one of {', '.join(NAMES)}, or give a --pattern")
    compile_pattern(pattern or NAMES[names])  # a wrong --pattern is an error before the download is read
    found = notebooks_in(Path(source))
    csv_times = read_times(Path(times)) if times is not None else None
    if not found:
        raise CollectError(f"no notebooks (.ipynb) in {source}")
    placed = place(list(found), pattern or NAMES[names])
    targets = {p.name: root / "submitted" / p.student / ASSIGNMENT / NOTEBOOK for p in placed}
    clashes = [
        f"  {target.relative_to(root)} (from {name})"
        for name, target in targets.items()
        if target.exists() and target.read_bytes() != found[name].data
    ]
    if clashes and not force:
        raise CollectError(
            "these students already have a different submission:\n"
            + "\n".join(clashes)
            + "\nPass --force to replace them. Nothing was collected."
        )
    from_lms_zip = pattern is None and names != "plain"
    lines = []
    for p in placed:
        target, data = targets[p.name], found[p.name].data
        state = (
            "unchanged" if target.exists() and target.read_bytes() == data else "replaced" if target.exists() else "new"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        stamp = target.parent / "timestamp.txt"
        moment = submission_time(p, found[p.name], csv_times, from_lms_zip)
        if moment is not None:
            stamp.write_text(timestamp_text(moment) + "\n")
        elif state == "replaced":
            stamp.unlink(missing_ok=True)  # the earlier submission's time
        when = f"  submitted {timestamp_text(moment)}" if moment else ("  submission time unknown" if p.late else "")
        lines.append(f"{p.student:12} {state:9} <- {p.name}{when}{'  (late, says the LMS)' * p.late}")
    record_lms_ids(root, {p.student: p.lms_user_id for p in placed if p.lms_user_id})
    return lines


def record_lms_ids(root: Path, ids: dict[str, str]) -> None:
    """Keep the students' LMS user ids in the gradebook (nbgrader's ``lms_user_id``), for ``a12 export --lms``."""
    if not ids:
        return
    try:
        url = gradebook_url(root)
    except CourseError:  # before `a12 release`: no gradebook yet
        return
    with Gradebook(url) as gb:
        for student, lms_user_id in ids.items():
            gb.update_or_create_student(student, lms_user_id=lms_user_id)
