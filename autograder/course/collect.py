"""Collect submitted notebooks, from a folder or an LMS zip, into ``submitted/<student>/assignment12/``.

Each notebook's path (relative to the folder or zip) must tell whose it is, by one of the ``NAMES``
patterns or a regular expression with a ``(?P<student>...)`` group. Nothing is copied unless every
notebook can be placed: the error lists each name that could not, and how to fix it. Several notebooks
of one student are resubmissions: the latest is taken (Canvas's ``-N`` suffix, else the latest time),
and the line says which.

A zip is read one member at a time, in chunks, straight into its place: a member larger than
``MAX_NOTEBOOK_BYTES`` (by its header, or as it is read) is refused before anything of it is kept;
absolute names and names with ``..`` are refused; a name that is not valid UTF-8 is refused with the
entry named, and the others are read.

Each submission's time goes to nbgrader's ``timestamp.txt`` beside it (``autograder.course.late``): from a
CSV of student,time that the instructor passes, or else, for a zip that an LMS made (``--names``
other than plain), from the zip entry's time, read as this computer's local time.
"""

import contextlib
import csv
import dataclasses
import functools
import hashlib
import io
import os
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import gradebook
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
RESUBMISSION = re.compile(r"-(\d+)\.ipynb$")  # Canvas: <...>_assignment12-1.ipynb, the first resubmission
MAX_NOTEBOOK_BYTES = 200_000_000  # what the grader reads (autograder.grading.submission)
CHUNK = 1 << 20


class CollectError(Exception):
    """Some notebooks could not be placed; the message lists them and says what to do."""


@dataclasses.dataclass(frozen=True)
class Placed:
    """A notebook found in the download, the student it belongs to, and whether the LMS marked it late."""

    name: str  # path inside the folder or zip
    student: str
    late: bool = False
    lms_user_id: str | None = None  # the LMS's own id of the student (Canvas: the user id in the name)
    instead_of: tuple[str, ...] = ()  # earlier submissions of the same student, not taken


@dataclasses.dataclass(frozen=True)
class Found:
    """A notebook of the download: how to read it, its size, and its time (a zip's entry: naive local
    time; a folder's file: its modification time, only to choose among resubmissions)."""

    open: Callable[[], contextlib.AbstractContextManager[BinaryIO]]
    size: int
    zip_time: datetime | None = None
    file_time: float = 0.0

    def digest(self) -> str:
        """The SHA-256 of its bytes, read in chunks."""
        return _digest(self.open)

    def copy_to(self, target: Path) -> None:
        """Write it to ``target`` in chunks; CollectError if it turns out larger than its size said."""
        written = 0
        with self.open() as source, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
            try:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > max(self.size, 0) or written > MAX_NOTEBOOK_BYTES:
                        raise CollectError(f"{target}: the notebook is larger than its zip entry says; not collected")
                    out.write(chunk)
            except BaseException:
                os.unlink(out.name)
                raise
        os.replace(out.name, target)


def _digest(opener: Callable[[], contextlib.AbstractContextManager[BinaryIO]]) -> str:
    digest = hashlib.sha256()
    with opener() as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


def notebooks_in(source: Path, stack: contextlib.ExitStack, refused: list[str] | None = None) -> dict[str, Found]:
    """The notebooks of a folder or zip, by their path inside it (hidden and checkpoint files left out);
    a zip's members that cannot be taken are left out with the reason in ``refused``. A zip stays open
    until ``stack`` closes."""
    refused = [] if refused is None else refused
    if not source.exists():
        raise UsageError(f"{source} does not exist: pass the LMS download (.zip) or a folder of notebooks")
    if source.is_dir():
        paths = {p.relative_to(source).as_posix(): p for p in source.rglob("*.ipynb")}
        return {
            name: Found(functools.partial(path.open, "rb"), *_size_and_time(path))
            for name, path in sorted(paths.items())
            if not IGNORED.search(name)
        }
    if zipfile.is_zipfile(source):
        return _zip_members(source, stack, refused)
    raise UsageError(
        f"{source} is neither a folder nor a zip file: pass the LMS download (.zip) or a folder of notebooks"
    )


def _size_and_time(path: Path) -> tuple[int, None, float]:
    stat = path.stat()
    return stat.st_size, None, stat.st_mtime


class _FixedNames(io.RawIOBase):
    """A zip file read as if its entries with invalid UTF-8 names did not claim UTF-8 (``zipfile`` then
    reads them as cp437 instead of failing on the whole zip); their names, for ``refused``."""

    def __init__(self, path: Path):
        self._file = open(path, "rb")
        self._patches: dict[int, bytes] = {}  # offset of a central header's flags -> the flags without UTF-8
        self.bad: dict[str, str] = {}  # the name as zipfile reads it -> the name with its bad bytes escaped
        data_size = self._file.seek(0, os.SEEK_END)
        self._file.seek(max(0, data_size - 65_557))
        tail = self._file.read()
        end = tail.rfind(b"PK\x05\x06")
        if end < 0:
            return
        size, offset = struct.unpack_from("<II", tail, end + 12)
        self._file.seek(offset)
        directory = self._file.read(size)
        at = 0
        while directory[at : at + 4] == b"PK\x01\x02":
            flags = struct.unpack_from("<H", directory, at + 8)[0]
            name_length, extra_length, comment_length = struct.unpack_from("<HHH", directory, at + 28)
            raw = directory[at + 46 : at + 46 + name_length]
            if flags & 0x800:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    self._patches[offset + at + 8] = struct.pack("<H", flags & ~0x800)
                    self.bad[raw.decode("cp437")] = raw.decode("utf-8", errors="backslashreplace")
            at += 46 + name_length + extra_length + comment_length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:
        start = self._file.tell()
        count = self._file.readinto(buffer)
        for at, patch in self._patches.items():
            for i, byte in enumerate(patch):
                if start <= at + i < start + count:
                    buffer[at + i - start] = byte
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def _zip_members(source: Path, stack: contextlib.ExitStack, refused: list[str]) -> dict[str, Found]:
    """A zip's notebooks, each read only when it is opened (the zip is read once, and open until
    ``stack`` closes); the unsafe ones in ``refused``."""
    names = stack.enter_context(_FixedNames(source))
    archive = stack.enter_context(zipfile.ZipFile(names))
    bad = names.bad
    found = {}
    for info in archive.infolist():
        name = info.filename
        if info.is_dir() or not name.endswith(".ipynb"):
            continue
        if name in bad:
            refused.append(f"{bad[name]}: the name is not valid UTF-8; rename the file and collect it again")
        elif name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in PurePosixPath(name).parts:
            refused.append(f"{name}: an absolute name, or one that leads out of the folder")
        elif IGNORED.search(name):
            continue
        elif info.file_size > MAX_NOTEBOOK_BYTES:
            refused.append(
                f"{name}: {info.file_size / 1e6:.0f} MB unpacked, over the {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB "
                "limit of a notebook"
            )
        else:
            found[name] = Found(functools.partial(archive.open, info), info.file_size, datetime(*info.date_time))
    return found


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


def latest(found: dict[str, Found]) -> Callable[[str], tuple]:
    """The order of a student's resubmissions, the latest last: Canvas's ``-N`` suffix, then the time."""

    def key(name: str) -> tuple:
        number = RESUBMISSION.search(name)
        mine = found.get(name)
        moment = (mine.zip_time.timestamp() if mine.zip_time else mine.file_time) if mine else 0.0
        return (int(number[1]) if number else 0, moment, name)

    return key


def place(names: list[str], pattern: str, found: dict[str, Found] | None = None) -> list[Placed]:
    """Whose each notebook is, the latest of each student's (``found``: their times); CollectError lists
    every name that cannot be placed."""
    regex = compile_pattern(pattern)
    placed, problems = [], []
    for name in names:
        try:
            placed.append(Placed(name, *student_of(str(PurePosixPath(name)), regex)))
        except ValueError as error:
            problems.append(f"  {name}: {error}")
    by_student: dict[str, list[Placed]] = {}
    for p in placed:
        by_student.setdefault(p.student, []).append(p)
    order = latest(found or {})
    placed = []
    for mine in by_student.values():
        mine.sort(key=lambda p: order(p.name))
        placed.append(dataclasses.replace(mine[-1], instead_of=tuple(p.name for p in mine[:-1])))
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
    refused: list[str] = []
    with contextlib.ExitStack() as stack:  # the zip, read once
        found = notebooks_in(Path(source), stack, refused)
        csv_times = read_times(Path(times)) if times is not None else None
        if not found:
            raise CollectError(f"no notebooks (.ipynb) in {source}" + "".join(f"\n  refused: {r}" for r in refused))
        placed = place(list(found), pattern or NAMES[names], found)
        targets = {p.name: root / "submitted" / p.student / ASSIGNMENT / NOTEBOOK for p in placed}
        digests = {name: found[name].digest() for name in targets}
        before = {
            name: _digest(functools.partial(target.open, "rb")) for name, target in targets.items() if target.exists()
        }
        clashes = [
            f"  {targets[name].relative_to(root)} (from {name})" for name in before if before[name] != digests[name]
        ]
        if clashes and not force:
            raise CollectError(
                "these students already have a different submission:\n"
                + "\n".join(clashes)
                + "\nPass --force to replace them. Nothing was collected."
            )
        from_lms_zip = pattern is None and names != "plain"
        lines = [f"refused: {reason}" for reason in refused]
        for p in placed:
            target = targets[p.name]
            state = "unchanged" if before.get(p.name) == digests[p.name] else "replaced" if p.name in before else "new"
            target.parent.mkdir(parents=True, exist_ok=True)
            if state != "unchanged":
                found[p.name].copy_to(target)
            stamp = target.parent / "timestamp.txt"
            moment = submission_time(p, found[p.name], csv_times, from_lms_zip)
            if moment is not None:
                stamp.write_text(timestamp_text(moment) + "\n")
            elif state == "replaced":
                stamp.unlink(missing_ok=True)  # the earlier submission's time
            when = (
                f"  submitted {timestamp_text(moment)}" if moment else ("  submission time unknown" if p.late else "")
            )
            lines.append(f"{p.student:12} {state:9} <- {p.name}{when}{'  (late, says the LMS)' * p.late}")
            if p.instead_of:
                lines.append(
                    f"{'':12} the latest of {len(p.instead_of) + 1} files; not taken: {', '.join(p.instead_of)}"
                )
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
    gradebook.record_lms_ids(url, ids)
