"""The workflow tests' students, their expected auto points, and the a12 command."""

import csv

from autograder.course import cli, demo
from autograder.rubric import AUTO, MANUAL

STUDENTS = [s.name for s in demo.STUDENTS]
EXPECTED_AUTO = {
    "ada": AUTO,
    "bob": {item: 0 for item in AUTO},
    "noah": {**AUTO, "12.6d": 1, "12.8f": 0},
    "mia": {**AUTO, "12.5c": 2},
    "leo": AUTO,
}
ZOE = demo.DemoStudent(
    "zoe", "sleeps before the first test cell", added={"closed_form_noisy_images": "import time\ntime.sleep(3600)"}
)


def a12(root, *args):
    assert cli.main(["--course", str(root), *map(str, args)]) == 0


def export(root):
    a12(root, "export")
    with open(root / "export" / "assignment12-scores.csv") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def points(row, item):
    kind = "auto" if item in AUTO else "manual"
    return row[f"{item} ({kind}, {({**AUTO, **MANUAL})[item]:g})"]
