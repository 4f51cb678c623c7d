"""Auto points from the independent grader only, never from the student's kernel.

``GradeIndependently`` (before Execute) grades the notebook as submitted, the cells nbgrader has
just read and restored, before any of its code runs: ``autograder.grading.grade`` in a process of its own
(the warm grader that ``A12_GRADER`` names, or ``python -m autograder.grading.grade``), in a jail when
``confine`` is on. The kernel gets that report in ``A12_REPORT``, so that the hidden tests print
the same lines as they run.

``ApplyIndependentScores`` (before SaveAutoGrades) then replaces every hidden-test cell's outputs
with the report's: the reasons as text and the points as the cell's result, which nbgrader takes as
partial credit. Whatever the kernel did to its interpreter, its outputs or its files, the points are
the grader's. Where the kernel's own outcome of a test cell differs, the notebook is flagged and the
difference is recorded in the notebook's metadata (``a12.disagreements``), for ``a12 autograde``'s
summary and ``a12 export``. The grader's own flags (``Report.flags``: code that behaves differently
under grading) are recorded (``a12.flags``) and flag the notebook the same way.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import determine_grade
from traitlets import Bool, Float

from autograder import GRADER_ENV, REPORT_ENV
from autograder.course import confine, environment
from autograder.course.plugins.execute import CONFINED, NOT_RUN, is_test_cell
from autograder.course.plugins.restore import was_restored
from autograder.limits import GRADER_S
from autograder.report import Report, feedback
from autograder.rubric import AUTO, TEST_CELLS

METADATA = "a12"  # the notebook metadata key of this plugin's record


def _ask_warm_grader(address: str, notebook: bytes, jail: confine.Holder | None, timeout_s: float) -> str:
    """The JSON report from the warm grader waiting at ``address`` (it answers once)."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.settimeout(timeout_s)
        connection.connect(address)
        connection.sendall(json.dumps({"jail": jail.pid if jail else None}).encode() + b"\n" + notebook)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    if not chunks:
        raise RuntimeError("the warm grader ended without a report (see the log)")
    return b"".join(chunks).decode()


def run_grader(notebook: bytes, confined: bool, timeout_s: float, options: tuple[str, ...] = ()) -> str:
    """The JSON report from ``python -I -m autograder.grading.grade`` with ``options``, started afresh with an
    allow-listed environment, the notebook on its standard input (in a jail when ``confined``)."""
    argv = [sys.executable, "-I", "-m", "autograder.grading.grade", "--json", *options, "-"]
    with tempfile.TemporaryDirectory(prefix="a12-grader-") as folder:
        if confined:
            confine.owned_by_jail(folder)
            argv = confine.Jail(writable=[(folder, folder)]).command(argv)
        done = subprocess.run(
            argv, input=notebook, capture_output=True, cwd=folder, timeout=timeout_s, env=environment.clean(home=folder)
        )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines() or ["no output"]
        raise RuntimeError(f"the autograder failed: {lines[-1]}")
    return done.stdout.decode().strip().splitlines()[-1]


def grade_outside(nb: NotebookNode, confined: bool, timeout_s: float = GRADER_S) -> Report:
    """The independent report of a notebook; a report of zeros with the reason if grading fails."""
    notebook = nbformat.writes(nb).encode()
    try:
        address = os.environ.get(GRADER_ENV)  # the warm grader waiting in this worker (autograder.course.warm)
        if address and os.path.exists(address) and (not confined or confine.can_enter()):
            jail = confine.Jail().start() if confined else None
            try:
                text = _ask_warm_grader(address, notebook, jail, timeout_s)
            finally:
                if jail:
                    jail.close()
        else:
            text = run_grader(notebook, confined, timeout_s)
        return Report.from_json(text)
    except subprocess.TimeoutExpired:
        return Report.of_zeros(AUTO, f"the autograder did not finish within {timeout_s:g} s; ask the instructor")
    except Exception as error:
        return Report.of_zeros(AUTO, f"the autograder failed ({type(error).__name__}: {error}); ask the instructor")


class GradeIndependently(NbGraderPreprocessor):
    """Grade the notebook as submitted, outside the kernel, before the kernel runs it."""

    confine = Bool(True, help="Run the grader (and the kernel: LimitedExecute.confine) in a bubblewrap jail").tag(
        config=True
    )
    timeout = Float(GRADER_S, help="Seconds for the independent grader").tag(config=True)

    def preprocess(self, nb, resources):
        if self.confine and (reason := confine.unavailable()):
            raise confine.ConfinementError(reason)
        report = grade_outside(nb, self.confine, self.timeout)
        resources[METADATA] = report
        resources[CONFINED] = self.confine
        os.environ[REPORT_ENV] = report.to_json()  # the kernel nbgrader starts next inherits it
        return nb, resources


def kernel_points(cell: NotebookNode) -> float | None:
    """The points nbgrader would give a test cell for the outputs the kernel produced (None: outputs
    nbgrader cannot score, such as more points than the cell has: the kernel's outputs may be anything)."""
    try:
        return determine_grade(cell)[0]
    except Exception:
        return None


class ApplyIndependentScores(NbGraderPreprocessor):
    """Give every hidden-test cell the outputs of the independent report; flag disagreements."""

    def preprocess(self, nb, resources):
        os.environ.pop(REPORT_ENV, None)
        report = resources[METADATA]
        data = report_as_dict(report)
        disagreements, restored = [], []
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if not (is_test_cell(cell) and cell.cell_type == "code" and grade_id in TEST_CELLS):
                continue
            item = TEST_CELLS[grade_id]
            in_kernel = kernel_points(cell)
            points, lines = feedback(data, item)
            lines += [f"  note: flagged for a person to review: {f}" for f in report.flags if f.startswith(item + ":")]
            if was_restored(cell):
                restored.append(item)
                lines.append(
                    "  note: this test cell had been deleted from the notebook; it was restored from the assignment,"
                    " and the points are what the code earns"
                )
            not_run = [o.get("evalue", "") for o in cell.outputs if o.get("ename") in (NOT_RUN, "CellTimeoutError")]
            if not_run:  # the run's problem (a12 autograde reports it) is no disagreement
                lines.append(
                    f"  note: the notebook's run did not finish this cell ({not_run[0] or 'time limit'}); "
                    "the points are the independent grader's"
                )
            elif in_kernel is None or abs(in_kernel - points) > 1e-9:
                why = next((f" ({o.ename}: {o.evalue})"[:300] for o in cell.outputs if o.output_type == "error"), "")
                disagreements.append({"item": item, "kernel": in_kernel, "independent": points})
                lines.append(
                    f"  note: the notebook's own run of this cell gave {in_kernel} points{why}; "
                    "the independent grader's points count"
                )
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
                nbformat.v4.new_output(
                    "execute_result", data={"text/plain": repr(points)}, execution_count=cell.get("execution_count")
                ),
            ]
        nb.metadata[METADATA] = {
            "confined": resources[CONFINED],
            "report_error": report.error,
            "disagreements": disagreements,
            "flags": report.flags,  # the grader's own flags: code that behaves differently under grading
            "restored": restored,
        }
        if disagreements or report.flags:
            self._flag(resources)
        return nb, resources

    @staticmethod
    def _flag(resources) -> None:
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            notebook.flagged = True
            gb.db.commit()


def report_as_dict(report: Report) -> dict:
    """A report as the plain data that ``autograder.notebook.feedback`` reads."""
    return json.loads(report.to_json())


def flags_of(nb: NotebookNode) -> list[dict]:
    """The independent grader's flags (``{"item", "reason"}``) recorded in an autograded notebook."""
    return list(nb.metadata.get(METADATA, {}).get("flags", []))


def disagreements_of(nb: NotebookNode) -> list[dict]:
    """The items whose kernel outcome differed from the independent grader's, in an autograded notebook."""
    return list(nb.metadata.get(METADATA, {}).get("disagreements", []))
