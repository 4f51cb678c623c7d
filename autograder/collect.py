"""Collect submitted notebooks, from a folder or an LMS zip, into ``submitted/<student>/assignment12/``.

Each notebook's path (relative to the folder or zip) must tell whose it is, by one of the ``NAMES``
patterns or a regular expression with a ``(?P<student>...)`` group. Nothing is copied unless every
notebook can be placed: the error lists each name that could not, and how to fix it.
"""
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import ASSIGNMENT, NOTEBOOK

NAMES = {
    # <student>.ipynb, or <student>/<any name>.ipynb (a folder per student)
    "plain": r"(?P<student>[^/]+?)\.ipynb|(?P<folder>[^/]+)/[^/]+\.ipynb",
    # Canvas: <name>_[late_]<user id>_<submission id>_<file name>.ipynb
    "canvas": r"(?P<student>[A-Za-z0-9]+)_(?:late_)?\d+_\d+_[^/]*\.ipynb",
}
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")
IGNORED = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints)/|(^|/)\.")


class CollectError(Exception):
    """Some notebooks could not be placed; the message lists them and says what to do."""


@dataclass(frozen=True)
class Placed:
    """A notebook found in the download, and the student it belongs to."""
    name: str  # path inside the folder or zip
    student: str


def student_of(name: str, pattern: re.Pattern) -> str:
    """The student id that ``pattern`` reads from a notebook's path; ValueError says why not."""
    match = pattern.fullmatch(name)
    if not match:
        raise ValueError("the name does not match the pattern")
    groups = match.groupdict()
    student = groups.get("student") or groups.get("folder")
    if not student or not STUDENT_ID.fullmatch(student):
        raise ValueError(f"{student!r} is not a usable student id (letters, digits, and _ . @ - after the first)")
    return student


def notebooks_in(source: Path) -> dict[str, bytes]:
    """The notebooks of a folder or zip, by their path inside it (hidden and checkpoint files left out)."""
    if source.is_dir():
        paths = {p.relative_to(source).as_posix(): p for p in source.rglob("*.ipynb")}
        return {name: path.read_bytes() for name, path in sorted(paths.items()) if not IGNORED.search(name)}
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()
                    if info.filename.endswith(".ipynb") and not info.is_dir() and not IGNORED.search(info.filename)}
    raise CollectError(f"{source} is neither a folder nor a zip file: pass the LMS download (.zip) or a folder of notebooks")


def place(names: list[str], pattern: str) -> list[Placed]:
    """Whose each notebook is; CollectError lists every name that cannot be placed, and duplicates."""
    regex = re.compile(pattern, re.I)
    placed, problems = [], []
    for name in names:
        try:
            placed.append(Placed(name, student_of(str(PurePosixPath(name)), regex)))
        except ValueError as error:
            problems.append(f"  {name}: {error}")
    by_student: dict[str, list[str]] = {}
    for p in placed:
        by_student.setdefault(p.student, []).append(p.name)
    problems += [f"  {', '.join(names)}: all belong to '{student}'; keep one" for student, names in by_student.items()
                 if len(names) > 1]
    if problems:
        raise CollectError("cannot tell whose these notebooks are:\n" + "\n".join(problems) + "\n"
                           f"The pattern was {pattern!r}. Rename the files (<student>.ipynb, or <student>/"
                           f"{NOTEBOOK}), or choose --names ({', '.join(NAMES)}) or a --pattern with a "
                           "(?P<student>...) group. Nothing was collected.")
    return placed


def collect(root: Path, source: Path, names: str = "plain", pattern: str | None = None,
            force: bool = False) -> list[str]:
    """Copy every notebook of ``source`` to ``submitted/<student>/assignment12/``; return a line for each.

    A different notebook already there is replaced only with ``force``; nothing is copied unless all
    notebooks can be placed.
    """
    if pattern is None and names not in NAMES:
        raise CollectError(f"unknown --names {names!r}: choose one of {', '.join(NAMES)}, or give a --pattern")
    found = notebooks_in(Path(source))
    if not found:
        raise CollectError(f"no notebooks (.ipynb) in {source}")
    placed = place(list(found), pattern or NAMES[names])
    targets = {p.name: root / "submitted" / p.student / ASSIGNMENT / NOTEBOOK for p in placed}
    clashes = [f"  {target.relative_to(root)} (from {name})" for name, target in targets.items()
               if target.exists() and target.read_bytes() != found[name]]
    if clashes and not force:
        raise CollectError("these students already have a different submission:\n" + "\n".join(clashes) +
                           "\nPass --force to replace them. Nothing was collected.")
    lines = []
    for p in placed:
        target = targets[p.name]
        state = "unchanged" if target.exists() and target.read_bytes() == found[p.name] else \
            "replaced" if target.exists() else "new"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(found[p.name])
        lines.append(f"{p.student:12} {state:9} <- {p.name}")
    return lines
