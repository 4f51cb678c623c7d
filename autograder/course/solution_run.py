"""Run the solution notebook for real, and check the losses it reports against the score sheet's.

``a12 run-solution`` executes ``solutions/assignment12.ipynb`` (full mode unless ``--quick``;
``--epochs`` sets ``DDPM_EPOCHS``) and saves it with its outputs and figures; ``a12 release`` keeps
them while the notebook's sources stay the same. ``read_run`` reads back what a saved run printed,
and ``check`` compares its losses with the score sheet's 20-epoch figures, within ``bounds``.

With ``checkpoints`` (a ``RunFolder``), the trainings save a checkpoint after every epoch there
(``autograder.course.checkpoint``, inside the kernel) and a rerun resumes them: the notebook is run
again from the top, each training from its last checkpoint, and comes out as an uninterrupted run would.
"""

import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import coursedir
from autograder.course.train_report import TrainReport, read_report

SCORE_SHEET = {  # (training loss, validation loss) after 20 epochs, by the cell that trains
    "train_model": (0.0196, 0.0191),
    "train_model_conditional": (0.0193, 0.0195),
}
TRAINERS = {"train_model": "train", "train_model_conditional": "train_conditional"}  # the function each calls
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


class RunFolder:
    """A folder outside the course for a resumable run: ``run.json`` (the run's settings and the minutes
    of each session), ``run.log`` (progress), a checkpoint folder for each training; one run at a time."""

    def __init__(self, folder: Path, settings: dict, save_every_s: float = 600):
        self.path, self.settings, self.save_every_s = Path(folder).resolve(), settings, save_every_s
        self.log_path, self._file = self.path / "run.log", self.path / "run.json"

    def open(self) -> None:
        """Lock the folder for this process, and check that it holds this run (or none yet)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = (self.path / "lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise coursedir.CourseError(f"another run is using {self.path}; see {self.log_path}") from None
        state = json.loads(self._file.read_text()) if self._file.exists() else {"settings": self.settings}
        if state["settings"] != self.settings:
            raise coursedir.CourseError(
                f"{self.path} holds the checkpoints of another run ({state['settings']}, not {self.settings}): "
                "give another folder, or delete this one to start again"
            )
        self._sessions = state.get("sessions", [])
        self._start = time.perf_counter()
        self.log(f"session {len(self._sessions) + 1}: {'resuming' if self._sessions else 'starting'} in {self.path}")

    def log(self, line: str) -> None:
        """Append a line to ``run.log``, and record this session's minutes so far."""
        with self.log_path.open("a", encoding="utf-8") as file:
            file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
        self._file.write_text(json.dumps({"settings": self.settings, "sessions": [*self._sessions, self.minutes()]}))

    def minutes(self) -> float:
        """This session's minutes so far."""
        return round((time.perf_counter() - self._start) / 60, 1)

    def summary(self) -> dict:
        """The notebook's ``a12_solution_run`` metadata: the minutes of all sessions, and how many."""
        return {"minutes": round(sum(self._sessions) + self.minutes(), 1), "sessions": len(self._sessions) + 1}


def start_in_background(argv: list[str], folder: Path) -> tuple[int, Path]:
    """Start ``a12 argv`` without ``--background`` in a new session (it outlives this terminal), its
    output appended to ``folder/output.txt``; return its process id and that file."""
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "output.txt"
    with output.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder.course.cli", *(a for a in argv if a != "--background")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _keep_niceness(process.pid)
    return process.pid, output


def _keep_niceness(pid: int) -> None:
    """Give the new session's scheduling group this process's niceness. Linux puts each session in a
    group of its own (autogroup) that shares the CPU equally with the others whatever its processes'
    niceness, so without this, `nice -n 19 a12 run-solution --background` took a full core from
    the work beside it."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(os.nice(0)))
    except OSError:  # no autogroups in this kernel (or not Linux): niceness alone applies
        pass


def _source_digest(nb: nbformat.NotebookNode) -> str:
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]


class _ProgressClient(NotebookClient):
    """Says when each cell starts and ends, and when a cell shows a figure (training: once an epoch).
    With a ``RunFolder``, the training cells run with checkpoints (``autograder.course.checkpoint``)."""

    def __init__(self, nb: nbformat.NotebookNode, log: Callable[[str], None], run: RunFolder | None, **kwargs):
        super().__init__(nb, on_cell_start=self._cell_start, **kwargs)
        self._log, self._run, self._start, self._figures = log, run, time.perf_counter(), 0

    def _elapsed(self) -> str:
        return f"{(time.perf_counter() - self._start) / 60:.1f} min"

    def _say(self, line: str) -> None:
        self._log(line)
        if self._run is not None:
            self._run.log(line)

    def _cell_start(self, cell: nbformat.NotebookNode, cell_index: int) -> None:
        self._figures = 0
        if cell.cell_type == "code":
            name = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            self._say(f"cell {cell_index + 1}/{len(self.nb.cells)} {name} ({self._elapsed()})")

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "display_data" and WIDGET not in msg["content"].get("data", {}):
            self._figures += 1
            self._say(f"  figure {self._figures} ({self._elapsed()})")
        return out

    async def _hidden(self, code: str) -> None:
        """Run ``code`` in the kernel, outside the notebook: no output, no execution count."""
        reply = await self.async_wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            content = reply["content"] if reply else {}
            raise RuntimeError(f"checkpoints could not be set up in the kernel: {content.get('evalue', 'no reply')}")

    async def async_start_new_kernel_client(self):
        """Start the kernel, then give its session's scheduling group this run's niceness: the kernel starts
        a session of its own (see ``_keep_niceness``)."""
        client = await super().async_start_new_kernel_client()
        pid = getattr(self.km.provisioner, "pid", None)  # jupyter_client's local provisioner: the kernel's process
        if pid is not None:
            _keep_niceness(pid)
        return client

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if self._run is None or grade_id not in TRAINERS:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        later = sum(
            other.metadata.get("nbgrader", {}).get("grade_id") in TRAINERS for other in self.nb.cells[cell_index + 1 :]
        )
        folder, log = str(self._run.path / grade_id), str(self._run.log_path)
        await self._hidden(
            "from autograder.course import checkpoint as _a12_checkpoint\n"
            f"_a12_checkpoint.install({TRAINERS[grade_id]!r}, {folder!r}, {log!r}, {later}, {self._run.save_every_s})"
        )
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            await self._hidden("_a12_checkpoint.uninstall()")


def run_solution(
    notebook: Path,
    *,
    epochs: int | None = None,
    quick: bool = False,
    mnist_root: Path | None = None,
    checkpoints: Path | None = None,
    checkpoint_minutes: float = 10,
    log: Callable[[str], None] = print,
) -> SolutionRun:
    """Execute ``notebook`` in its folder (full mode unless ``quick``), save it with its outputs, and
    return what it printed. On an error in a cell, raise nbclient's CellExecutionError and save nothing.
    With ``checkpoints`` (a folder), checkpoint every epoch there (and every ``checkpoint_minutes`` within
    an epoch), and resume from what it holds."""
    nb = nbformat.read(notebook, as_version=4)
    env = dict(os.environ, DDPM_QUICK="1" if quick else "0", PYTHONWARNINGS="ignore")
    # PyTorch's threads wait for each other by sleeping: a spinning thread wastes a niced run's share of the CPU
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if epochs is not None:
        env["DDPM_EPOCHS"] = str(epochs)
    if mnist_root is not None:
        env["MNIST_ROOT"] = str(Path(mnist_root).resolve())
    run = None
    if checkpoints is not None:
        settings = {"quick": quick, "epochs": epochs, "mnist_root": env.get("MNIST_ROOT"), "code": _source_digest(nb)}
        run = RunFolder(checkpoints, settings, checkpoint_minutes * 60)
        run.open()
    start = time.perf_counter()
    _ProgressClient(
        nb,
        log,
        run,
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
    if run is not None:
        nb.metadata["a12_solution_run"] = run.summary()
        run.log(f"done: wrote {notebook}; {run.summary()['minutes']} minutes in {run.summary()['sessions']} session(s)")
    nbformat.write(nb, notebook)
    return read_run(nb)
