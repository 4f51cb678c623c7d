"""Run the solution notebook for real, and check the losses it reports against the score sheet's.

``a12 run-solution`` executes ``solutions/assignment12.ipynb`` (full mode unless ``--quick``;
``--epochs`` sets ``DDPM_EPOCHS``) and saves it with its outputs and figures; ``a12 release`` keeps
them while the notebook's sources stay the same. ``read_run`` reads back what a saved run printed,
and ``check`` compares its losses with the score sheet's 20-epoch figures, within ``bounds``.
"""

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course.train_report import TrainReport, read_report

SCORE_SHEET = {  # (training loss, validation loss) after 20 epochs, by the cell that trains
    "train_model": (0.0196, 0.0191),
    "train_model_conditional": (0.0193, 0.0195),
}
FULL_EPOCHS = 20
_MODE = re.compile(r"(quick|full) mode: (\d+) training images, (\d+) epoch")


def bounds(epochs: int) -> tuple[float, float]:
    """The range of a loss after ``epochs`` epochs, as factors of the score sheet's 20-epoch loss.

    After 20 epochs (or more): 0.9 to 1.1, for the few percent by which runs differ (the noise draws,
    the hardware). Shorter runs have not come down as far, so the upper factor is
    1.1 + 3/epochs − 3/20: 1.25 after 10 epochs, 1.55 after 5, 3.95 after 1. That is loose on
    purpose: it catches training that is broken, not training that is a little slow.
    """
    epochs = min(epochs, FULL_EPOCHS)
    return 0.9, 1.1 + 3 / epochs - 3 / FULL_EPOCHS


@dataclass(frozen=True)
class SolutionRun:
    """What a saved run of the notebook printed."""

    mode: str  # "full" or "quick"
    num_train: int
    epochs: int
    reports: dict[str, TrainReport]  # by the grade_id of the cell that trained


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(
        out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")
        for out in cell.get("outputs", [])
    )


def read_run(nb: nbformat.NotebookNode) -> SolutionRun | None:
    """The run whose outputs ``nb`` holds, or None if it holds none."""
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nb.cells}
    mode = _MODE.search(_text(cells["quick_mode"]))
    if mode is None:
        return None
    reports = {grade_id: read_report(_text(cells[grade_id])) for grade_id in SCORE_SHEET}
    return SolutionRun(mode[1], int(mode[2]), int(mode[3]), {k: v for k, v in reports.items() if v is not None})


def check(run: SolutionRun) -> list[str]:
    """What in a run's reported losses is out of ``bounds``: one line each; an empty list if nothing."""
    low, high = bounds(run.epochs)
    problems = []
    for grade_id, reference in SCORE_SHEET.items():
        report = run.reports.get(grade_id)
        if report is None:
            problems.append(f"{grade_id}: its outputs hold no training report")
            continue
        for name, value, expected in (
            ("training loss", report.train_loss, reference[0]),
            ("validation loss", report.val_loss, reference[1]),
        ):
            if not low * expected <= value <= high * expected:
                problems.append(
                    f"{grade_id}: {name} {value:g} after {run.epochs} epochs is outside "
                    f"[{low * expected:.4f}, {high * expected:.4f}] ({low:g} to {high:.3g} times "
                    f"the score sheet's {expected} after {FULL_EPOCHS})"
                )
    return problems


WIDGET = "application/vnd.jupyter.widget-view+json"  # how the notebook's tqdm progress bars are displayed


class _ProgressClient(NotebookClient):
    """Says when each cell starts and ends, and when a cell shows a figure (training: once an epoch)."""

    def __init__(self, nb: nbformat.NotebookNode, log: Callable[[str], None], **kwargs):
        super().__init__(nb, on_cell_start=self._cell_start, **kwargs)
        self._log, self._start, self._figures = log, time.perf_counter(), 0

    def _elapsed(self) -> str:
        return f"{(time.perf_counter() - self._start) / 60:.1f} min"

    def _cell_start(self, cell: nbformat.NotebookNode, cell_index: int) -> None:
        self._figures = 0
        if cell.cell_type == "code":
            name = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            self._log(f"cell {cell_index + 1}/{len(self.nb.cells)} {name} ({self._elapsed()})")

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "display_data" and WIDGET not in msg["content"].get("data", {}):
            self._figures += 1
            self._log(f"  figure {self._figures} ({self._elapsed()})")
        return out


def run_solution(
    notebook: Path,
    *,
    epochs: int | None = None,
    quick: bool = False,
    mnist_root: Path | None = None,
    log: Callable[[str], None] = print,
) -> SolutionRun:
    """Execute ``notebook`` in its folder (full mode unless ``quick``), save it with its outputs, and
    return what it printed. On an error in a cell, raise nbclient's CellExecutionError and save nothing."""
    nb = nbformat.read(notebook, as_version=4)
    env = dict(os.environ, DDPM_QUICK="1" if quick else "0", PYTHONWARNINGS="ignore")
    if epochs is not None:
        env["DDPM_EPOCHS"] = str(epochs)
    if mnist_root is not None:
        env["MNIST_ROOT"] = str(Path(mnist_root).resolve())
    start = time.perf_counter()
    _ProgressClient(
        nb,
        log,
        timeout=None,
        kernel_name="python3",
        record_timing=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(notebook.parent)}},
    ).execute(env=env)
    for cell in nb.cells:  # the progress bars (widgets) mean nothing once the run is over
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs if WIDGET not in out.get("data", {})]
    nb.metadata["a12_solution_run"] = {"minutes": round((time.perf_counter() - start) / 60, 1)}
    nbformat.write(nb, notebook)
    return read_run(nb)
