"""Grades that student code cannot reach: hostile submissions graded by ``a12 autograde`` beside an
honest student and a blank one, in a shell full of hostile variables (tests/hostile.py,
``KERNEL_ATTACKS``).

For every attack: the attacker earns exactly its honest part; the others' grades are unchanged, in
this batch and the next; ``a12 regrade`` computes the honest points; the course and the installed
package are unchanged; no process of a submission outlives grading; no secret reaches the outputs
or the feedback.
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbgrader.api import Gradebook

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import autograde, confine, coursedir, demo, feedback, gradebook, regrade, scoresheet

from .conftest import ROOT
from .support.hostile import FULL, HONEST, KERNEL_ATTACKS, NOTHING, PEERS, SECRET, kernel_attack_notebook

pytestmark = pytest.mark.skipif(
    confine.unavailable() is not None and not os.environ.get("CI"),
    reason=f"no confinement here: {confine.unavailable()}",
)
ATTACKERS = [attack.student for attack in KERNEL_ATTACKS]
HOSTILE_SHELL = {
    "DDPM_QUICK": "0",
    "DDPM_EPOCHS": "50",
    "PYTHONSTARTUP": "",
    "PYTHONPATH": "",
    "GITHUB_TOKEN": SECRET,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "A12_DB_PASSWORD": SECRET,
}
# Written by grading, and only there: the gradebook, the autograded notebooks, the logs, the feedback.
GRADING_OUTPUTS = ("autograded", "feedback", ".a12", "gradebook.db")


def files_under(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, Path]:
    """Every file under ``folder`` by its relative name, but those under the top-level names in ``skip``
    and the bytecode caches (Python itself writes them)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] not in skip and "__pycache__" not in relative.parts:
            files[str(relative)] = path
    return files


def tree_hash(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """The SHA-256 of every file under ``folder`` (``files_under``)."""
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files_under(folder, skip).items()}


def tree_stat(folder: Path) -> dict[str, tuple[int, ...]]:
    """Every file under ``folder`` (``files_under``) by its inode, size, mode and change times: a write,
    rename, chmod or ``os.utime`` sets its change time, which no process can set back, so this sees every
    change without reading the gigabytes of a Python installation (SHA-256 took 19 s)."""
    stats = {}
    for name, path in files_under(folder).items():
        st = path.lstat()
        stats[name] = (st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)
    return stats


def gradebook_of(db_url: str, students: tuple[str, ...]) -> str:
    """Everything the gradebook holds of these students' grades and comments, as text."""
    with Gradebook(db_url) as gb:
        rows = []
        for student in students:
            notebook = gb.find_submission(ASSIGNMENT, student).notebooks[0]
            rows += [
                (student, g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                for g in sorted(notebook.grades, key=lambda g: g.name)
            ]
            rows += [
                (student, c.name, c.auto_comment, c.manual_comment)
                for c in sorted(notebook.comments, key=lambda c: c.name)
            ]
            rows.append((student, "flagged", notebook.flagged))
    return json.dumps(rows)


def auto_points(root: Path, student: str) -> dict[str, float]:
    sheet = scoresheet.read(coursedir.db_url(root))
    row = next(r for r in sheet.rows if r.student == student)
    return {i.item: row.points[i.item] for i in sheet.items if i.kind == "auto"}


def code_outputs(root: Path, student: str) -> str:
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    return json.dumps([c.outputs for c in nb.cells if c.cell_type == "code"])


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, mnist_root):
    """Two batches: everyone (attackers, ``ana``, ``blank``), then ``ana`` and ``blank`` again."""
    folder = tmp_path_factory.mktemp("integrity")
    root = demo.build_course(folder / "course", ROOT)
    home = folder / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    shadow = folder / SECRET / "autograder"  # what PYTHONPATH and PYTHONSTARTUP point to: paths with the secret
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('shadowed')")
    (folder / SECRET / "startup.py").write_text("raise SystemExit('startup')")
    submissions = {
        "ana": demo.student_notebook(root, demo.DemoStudent("ana", "")),
        "blank": demo.student_notebook(root, demo.DemoStudent("blank", "", blank=True)),
    }
    submissions.update({attack.student: kernel_attack_notebook(root, attack) for attack in KERNEL_ATTACKS})
    for student, nb in submissions.items():
        target = root / "submitted" / student / ASSIGNMENT / NOTEBOOK
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    for attack in KERNEL_ATTACKS:
        for name, text in attack.files.items():
            path = root / "submitted" / attack.student / ASSIGNMENT / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    package = Path(confine.PACKAGE_DIR)
    before = tree_hash(root, GRADING_OUTPUTS), tree_hash(package), tree_stat(Path(sys.prefix))
    lines = []
    with pytest.MonkeyPatch.context() as patch:
        hostile = dict(
            HOSTILE_SHELL,
            HOME=str(home),
            MNIST_ROOT=str(mnist_root),
            PYTHONPATH=str(shadow.parent),
            PYTHONSTARTUP=str(folder / SECRET / "startup.py"),
        )
        for name, value in hostile.items():
            patch.setenv(name, value)
        first = autograde.autograde(root, workers=2, progress=lines.append)
        right_after = tree_hash(root / "autograded")
        first_grades = gradebook_of(coursedir.db_url(root), PEERS)
        time.sleep(12)  # longer than the detached process waits before it strikes
        later = tree_hash(root / "autograded")
        files, _ = feedback.generate(root, ATTACKERS)
        second = autograde.autograde(root, list(PEERS), workers=2, force=True, progress=lines.append)
        second_grades = gradebook_of(coursedir.db_url(root), PEERS)
        reports, differences = regrade.regrade(root, coursedir.db_url(root), progress=lines.append)
    after = tree_hash(root, GRADING_OUTPUTS), tree_hash(package), tree_stat(Path(sys.prefix))
    return dict(
        root=root,
        home=home,
        first=first,
        second=second,
        first_grades=first_grades,
        second_grades=second_grades,
        right_after=right_after,
        later=later,
        before=before,
        after=after,
        feedback=files,
        reports=reports,
        differences=differences,
        lines=lines,
    )


def test_the_batches_ran(attacked):
    assert sorted(o.student for o in attacked["first"]) == sorted(ATTACKERS + list(PEERS))
    assert sorted(o.student for o in attacked["second"]) == sorted(PEERS)
    assert {o.student: o.status for o in attacked["first"] if o.status != "graded"} == {}  # no attack stops nbgrader


@pytest.mark.parametrize("attack", KERNEL_ATTACKS, ids=lambda a: a.kind)
def test_an_attacker_earns_exactly_its_honest_part(attacked, attack):
    assert auto_points(attacked["root"], attack.student) == HONEST


def test_the_others_grades_are_unchanged_in_this_batch_and_the_next(attacked):
    root = attacked["root"]
    assert auto_points(root, "ana") == FULL and auto_points(root, "blank") == NOTHING
    assert attacked["first_grades"] == attacked["second_grades"]


def test_regrade_computes_the_honest_points_and_agrees_with_the_gradebook(attacked):
    reports = attacked["reports"]
    for student in ATTACKERS:
        assert {r.item: r.points for r in reports[student].results} == HONEST, student
    assert {r.item: r.points for r in reports["ana"].results} == FULL
    assert attacked["differences"] == []


def test_the_course_the_package_and_the_python_installation_are_unchanged(attacked):
    assert attacked["after"] == attacked["before"]
    assert attacked["later"] == attacked["right_after"]  # nothing edited the autograded notebooks afterwards
    assert b"A12-DETACHED" not in (attacked["root"] / "gradebook.db").read_bytes()
    assert not (attacked["root"] / "autograder").exists()
    assert not list(attacked["home"].rglob("00-zero.py"))
    assert not (Path.home() / ".ipython" / "profile_default" / "startup" / "00-zero.py").exists()


def test_no_process_of_a_submission_outlives_grading(attacked):
    root = str(attacked["root"])
    left = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        if any("ipykernel_launcher" in part for part in process.info["cmdline"] or []) and (
            process.info["cwd"] or ""
        ).startswith(root):
            left.append(process.pid)
    assert left == []


def test_no_secret_reaches_the_outputs_or_the_feedback(attacked):
    root = attacked["root"]
    outputs = code_outputs(root, "secrets")
    assert "refused" in outputs  # the attack ran and printed what it could not read
    assert "BEGIN HIDDEN TESTS" not in outputs  # (feedback shows the hidden tests' code: nbgrader does, after grading)
    for secret in [SECRET, "noisy_sample_coefficients", "'DDPM_QUICK': '0'", "'GITHUB_TOKEN'", str(attacked["home"])]:
        assert secret not in outputs, secret  # (the environment's repr, as the attack printed it)
    for page in attacked["feedback"]:  # every hostile variable's value, and the paths they name, hold SECRET
        assert SECRET not in page.read_text() and str(attacked["home"]) not in page.read_text(), page


def test_attacks_that_fooled_the_kernel_are_flagged_and_reported(attacked):
    by_student = {o.student: o for o in attacked["first"]}
    # The kernel's own 12.5c cell said 3 (12.6d's visible assert fails before the rewritten call). (A warm
    # kernel has imported the real autograder.notebook: the package submitted beside the notebook loses there.)
    assert "12.5c" in {d["item"] for d in by_student["rewrite"].disagreements}
    assert "rewrite: flagged" in autograde.summary_text(attacked["first"])
    rows = {r.student: r for r in scoresheet.read(coursedir.db_url(attacked["root"]), root=attacked["root"]).rows}
    assert rows["rewrite"].flagged and any("12.5c" in note for note in rows["rewrite"].notes)
    assert not rows["ana"].flagged and rows["ana"].notes == []


def test_a_manual_score_on_an_auto_graded_item_is_caught_by_regrade(attacked):
    root = attacked["root"]
    db_url = coursedir.db_url(root)
    with Gradebook(db_url) as gb:
        grade = gb.find_grade("test_12_6d_sample_from_model", "assignment12", ASSIGNMENT, "blank")
        grade.manual_score = 2
        gb.db.commit()
    try:
        _, differences = regrade.regrade(root, db_url, ["blank"])
        assert [(d.item, d.gradebook, d.independent, d.manual) for d in differences] == [("12.6d", 2, 0, True)]
        outcome = autograde.Outcome(
            "blank", "graded", 0, 13, 1.0, overrides=gradebook.manual_overrides(db_url, "blank")
        )
        assert "blank: test_12_6d_sample_from_model has a manual score of 2" in autograde.summary_text([outcome])
    finally:
        with Gradebook(db_url) as gb:
            gb.find_grade("test_12_6d_sample_from_model", "assignment12", ASSIGNMENT, "blank").manual_score = None
            gb.db.commit()
