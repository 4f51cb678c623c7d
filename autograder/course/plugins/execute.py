"""``LimitedExecute``: run a submission within a time limit, and survive a dead kernel.

nbgrader's Execute stops a single cell after ``Execute.timeout`` seconds, but nothing bounds a whole
notebook, and a dead kernel makes nbgrader drop the submission altogether. Here, once the submission
has used up ``submission_timeout`` seconds or its kernel has died, the remaining code cells are not
run: each gets an error output with the reason. nbgrader then scores their test cells 0 and keeps the
points of everything that ran. ``skip_reason`` runs nothing at all (for a submission whose run failed).

The kernel runs in a jail (``autograder.course.confine``) unless ``GradeIndependently.confine`` is off: the
course's kernel provisioner (``autograder.course.warm.WarmProvisioner``) makes it, and the kernel talks to
nbgrader over Unix sockets in a private folder (ZeroMQ's IPC transport), as it has no network.

nbgrader also scores 0 any test cell that wrote to stderr. A test cell's stderr (a progress bar or a
debugging print in the student's function that the visible check calls) is moved to stdout: the
cell's points are decided by its result, and an exception still scores 0.
"""

import math
import os
import shutil
import tempfile
import time

from jupyter_client.provisioning import KernelProvisionerFactory
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from autograder.course import confine

NOT_RUN = "CellNotRun"
CONFINED = "a12_confined"  # in nbgrader's resources: whether the kernel runs in a jail (GradeIndependently)
PROVISIONER = "a12-warm-provisioner"  # autograder.course.warm.WarmProvisioner's entry point (pyproject.toml)
CONFINE_ENV = "A12_CONFINE"  # "1" in nbgrader's environment: the provisioner makes a jail (never reaches the kernel)


def is_test_cell(cell: NotebookNode) -> bool:
    """Whether a cell is an autograder test cell (graded, not an answer)."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade") and not meta.get("solution"))


def stderr_to_stdout(cell: NotebookNode) -> None:
    """Turn a cell's stderr stream outputs into stdout ones."""
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            output.name = "stdout"


def mark_not_run(cell: NotebookNode, reason: str) -> None:
    """Replace a code cell's outputs by an error that says why it was not run."""
    cell.outputs = [NotebookNode(output_type="error", ename=NOT_RUN, evalue=reason, traceback=[f"{NOT_RUN}: {reason}"])]
    cell.execution_count = None


class LimitedExecute(Execute):
    """nbgrader's Execute, with a time limit per submission and cells marked when they cannot run."""

    submission_timeout = Integer(
        None,
        allow_none=True,
        help=(
            "Seconds for the whole notebook; cells not finished in time are marked as not run "
            "(None: no limit beyond Execute.timeout per cell)."
        ),
    ).tag(config=True)

    skip_reason = Unicode("", help=("When set, run no cell: mark every code cell as not run for this reason.")).tag(
        config=True
    )

    def preprocess(self, nb, resources=None, km=None):
        self._stopped = self.skip_reason or None
        if self._stopped:
            for cell in nb.cells:
                if cell.cell_type == "code":
                    mark_not_run(cell, self._stopped)
            return nb, resources
        self._cell_timeout = self.timeout
        self._deadline = None  # set when the first cell starts: the kernel's start does not count
        self._connection = tempfile.mkdtemp(prefix="a12-kernel-") if (resources or {}).get(CONFINED) else None
        os.environ.pop(CONFINE_ENV, None)
        if self._connection:
            os.environ[CONFINE_ENV] = "1"
        factory = KernelProvisionerFactory.instance()  # (one for the process: put back what it had)
        default, factory.default_provisioner_name = factory.default_provisioner_name, PROVISIONER
        try:
            return super().preprocess(nb, resources, km)
        finally:
            factory.default_provisioner_name = default
            os.environ.pop(CONFINE_ENV, None)
            if self._connection:
                shutil.rmtree(self._connection, ignore_errors=True)

    def create_kernel_manager(self):
        """The kernel manager; for a jailed kernel, on Unix sockets in a private folder."""
        km = super().create_kernel_manager()
        if self._connection:
            km.transport = "ipc"
            km.connection_file = os.path.join(self._connection, "kernel.json")
        return km

    async def async_start_new_kernel_client(self):
        """The kernel's client; once the kernel has made its sockets, its connection folder (on this
        machine's disk) is taken back, so that the kernel cannot fill it."""
        client = await super().async_start_new_kernel_client()
        if self._connection:
            confine.seal(self._connection)
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _limit_cell_to_deadline(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self._stopped = f"not run: the submission used up its time limit of {self.submission_timeout} s"
            return
        if self._cell_timeout is None or left < self._cell_timeout:
            self.timeout = math.ceil(left)  # an interrupted cell ends after the deadline
            self.error_on_timeout = dict(
                ename="CellTimeoutError",
                evalue="",
                traceback=[
                    f"CellTimeoutError: the submission reached its time limit of {self.submission_timeout} s "
                    "while running this cell"
                ],
            )

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._deadline is None and self.submission_timeout is not None:
            self._deadline = time.monotonic() + self.submission_timeout
        if self._stopped is None and self._deadline is not None:
            self._limit_cell_to_deadline()
        if self._stopped:
            mark_not_run(cell, self._stopped)
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if is_test_cell(cell):
                stderr_to_stdout(cell)
            return cell, resources
        except DeadKernelError:
            self.log.error("The kernel died while running cell %d; the remaining cells are not run", index)
            mark_not_run(
                cell,
                "the kernel died while running this cell (the code ran out of memory, or ended the Python process)",
            )
            self._stopped = "not run: the kernel died while running an earlier cell"
            return cell, resources
