"""Each submission's budget (``autograder.course.budget``): memory, processes, files and the notebook's
size, held by the operating system's kernel, beside an honest student, in one ``a12 autograde`` batch.

The budgets here are small, so that the batch is quick and light on a shared machine: exceeding them
takes only a little memory past them. Every row of issue 20's table has its submission:

- ``hog``: its kernel allocates past the memory budget;
- ``greedy``: an answer cell allocates, only where the independent grader's checks run it (not in the
  kernel), a quarter of the budget in each of the checks' nine children at once;
- ``careless``: writes files into its working folder and ``/tmp`` until they are full, starts processes
  until it may not, has a Markdown cell larger than the notebook budget, and an answer cell copied with
  its grade id (the copy holds the answer; the first copy is the stub);
- ``ana``: the reference answers.

``greedy`` and ``careless`` end their kernels once their cells of interest have run (``QUIT``): the
independent grader judges their answers all the same, and the batch takes the time of one honest run.
"""

import json
import os
import resource
import signal
import subprocess
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import autograde, budget, confine, coursedir, demo
from autograder.course.plugins.slips import notes_of
from autograder.rubric import FUNCTION_CELLS

from .conftest import ROOT
from .support.hostile import FULL
from .test_integrity import auto_points

pytestmark = pytest.mark.skipif(
    confine.unavailable() is not None and not os.environ.get("CI"),
    reason=f"no confinement here: {confine.unavailable()}",
)
MEMORY = 1280 * 2**20  # an honest quick-mode submission holds up to about 950 MiB in its cgroup
FILES = 40 * 2**20
PROCESSES = 96
NOTEBOOK_SIZE = 2_000_000
SMALL = budget.Budget(memory_bytes=MEMORY, files_bytes=FILES, processes=PROCESSES, notebook_bytes=NOTEBOOK_SIZE)

HOG = f"""
import numpy
held = numpy.ones({MEMORY + 100 * 2**20}, dtype=numpy.uint8)  # past the budget
"""
GREEDY = f"""try:
    get_ipython()
except NameError:  # in the grader's checks only, each of which gets a quarter of the budget
    held = b"x" * {MEMORY // 4}
"""
QUIT = "import os\nos._exit(0)  # the rest of the notebook is not needed here"
WRITER = """
import os, subprocess
from ipykernel.kernelapp import IPKernelApp
connection = os.path.dirname(IPKernelApp.instance().connection_file)  # on the grading machine's disk
for folder in (".", "/tmp", connection):
    written = 0
    try:
        with open(os.path.join(folder, "filler"), "wb") as f:
            while True:
                f.write(b"x" * 2**20)
                f.flush()
                written += 2**20
    except OSError as error:
        print(f"{'connection' if folder == connection else folder}: {written // 2**20} MiB written, then {error}")
    if os.path.exists(os.path.join(folder, "filler")):
        os.remove(os.path.join(folder, "filler"))
started = []
try:
    while True:
        started.append(subprocess.Popen(["sleep", "60"]))
except OSError as error:
    print(f"{len(started)} processes started, then {error}")
for process in started:
    process.kill()
    process.wait()
"""


def careless_notebook(root: Path) -> nbformat.NotebookNode:
    nb = demo.student_notebook(root, demo.DemoStudent("careless", "", added={"imports": WRITER}))
    cells = []
    for cell in nb.cells:
        if cell.source == WRITER:
            cells += [cell, nbformat.v4.new_code_cell(QUIT)]
            continue
        if cell.metadata.get("nbgrader", {}).get("grade_id") == FUNCTION_CELLS[0]:
            stub = nbformat.from_dict(json.loads(json.dumps(cell)))
            stub.source = "# YOUR CODE HERE\nraise NotImplementedError()"
            stub.id = "copied-answer"  # JupyterLab gives a copied cell an id of its own
            cells.append(stub)  # the first copy is the stub; the answer is in the second
        cells.append(cell)
    cells.append(nbformat.v4.new_markdown_cell("A long essay. " * (NOTEBOOK_SIZE // 10)))
    nb.cells = cells
    return nb


def greedy_notebook(root: Path) -> nbformat.NotebookNode:
    nb = demo.student_notebook(root, demo.DemoStudent("greedy", "", added={"imports": QUIT}))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == FUNCTION_CELLS[0]:
            cell.source = GREEDY + cell.source
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory, mnist_root):
    root = demo.build_course(tmp_path_factory.mktemp("budget") / "course", ROOT)
    submissions = {
        "ana": demo.student_notebook(root, demo.DemoStudent("ana", "")),
        "hog": demo.student_notebook(root, demo.DemoStudent("hog", "", added={"imports": HOG})),
        "greedy": greedy_notebook(root),
        "careless": careless_notebook(root),
    }
    for student, nb in submissions.items():
        target = root / "submitted" / student / ASSIGNMENT / NOTEBOOK
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    lines = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_ROOT", str(mnist_root))
        outcomes = autograde.autograde(root, workers=2, timeout_s=1500, progress=lines.append, budget_of=SMALL)
    return dict(root=root, outcomes={o.student: o for o in outcomes}, lines=lines)


def graded_notebook(root: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(root / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)


def outputs_of(root: Path, student: str) -> str:
    return "\n".join(
        output.get("text", "") + output.get("evalue", "")
        for cell in graded_notebook(root, student).cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def test_the_batch_finished_and_the_honest_student_is_untouched(batch):
    assert sorted(batch["outcomes"]) == ["ana", "careless", "greedy", "hog"]
    assert {s: o.status for s, o in batch["outcomes"].items()} == dict.fromkeys(batch["outcomes"], "graded")
    ana = batch["outcomes"]["ana"]
    assert ana.problem == "" and auto_points(batch["root"], "ana") == FULL
    assert any("budgets by cgroup v1" in line or "budgets by cgroup v2" in line for line in batch["lines"])


def test_a_kernel_past_the_memory_budget_is_ended_and_keeps_its_points(batch):
    hog = batch["outcomes"]["hog"]
    assert f"the notebook used more than {budget.size_text(MEMORY)} of memory" in hog.problem
    assert "the kernel died" in outputs_of(batch["root"], "hog") or "kernel died" in hog.problem
    assert auto_points(batch["root"], "hog") == FULL  # the grader judged its code


def test_the_checks_children_share_the_memory_budget(batch):
    greedy = batch["outcomes"]["greedy"]
    assert f"the notebook used more than {budget.size_text(MEMORY)} of memory" in greedy.problem
    assert sum(auto_points(batch["root"], "greedy").values()) < sum(FULL.values())
    assert "used more than the submission's memory budget of 1.25 GiB" in outputs_of(batch["root"], "greedy")


def test_files_in_the_working_folder_and_tmp_stop_at_the_files_budget(batch):
    text = outputs_of(batch["root"], "careless")
    for folder in (".", "/tmp"):
        line = next(line for line in text.splitlines() if line.startswith(f"{folder}: "))
        written = int(line.split()[1])
        assert 0.8 * FILES / 2**20 <= written <= FILES / 2**20 and "No space left on device" in line
    assert "wrote more than 40 MiB of files" in batch["outcomes"]["careless"].problem
    assert "connection: 0 MiB written, then [Errno 13] Permission denied" in text  # its kernel's sockets' folder


def test_processes_stop_at_the_process_budget(batch):
    line = next(line for line in outputs_of(batch["root"], "careless").splitlines() if "processes started" in line)
    assert int(line.split()[0]) < PROCESSES and "Resource temporarily unavailable" in line
    assert f"more than {PROCESSES} processes" in batch["outcomes"]["careless"].problem


def test_a_notebook_over_its_size_budget_is_trimmed_with_a_note(batch):
    path = batch["root"] / "autograded" / "careless" / ASSIGNMENT / NOTEBOOK
    assert path.stat().st_size <= NOTEBOOK_SIZE
    essay = next(c for c in graded_notebook(batch["root"], "careless").cells if c.source.startswith("A long essay"))
    assert "[a12: trimmed from" in essay.source
    assert "over the 2 MB budget" in batch["outcomes"]["careless"].problem


def test_a_duplicated_answer_cell_is_graded_once_from_the_copy_with_the_answer(batch):
    assert auto_points(batch["root"], "careless") == FULL
    notes = notes_of(graded_notebook(batch["root"], "careless"))
    assert f"cell {FUNCTION_CELLS[0]} was there 2 times: graded the copy with the answer" in " ".join(notes)
    assert "graded the copy with the answer" in batch["outcomes"]["careless"].problem


def test_no_cgroup_is_left_and_a_worker_count_that_cannot_fit_is_refused(batch):
    for controller in ("memory", "pids"):
        parent = budget._own(controller)
        assert parent is None or not list(parent.glob("a12-*"))
    with pytest.raises(coursedir.CourseError, match="--workers 3 cannot fit"):
        huge = budget.Budget(memory_bytes=budget.psutil.virtual_memory().total // 2)
        autograde.autograde(batch["root"], ["ana", "hog", "greedy"], workers=3, force=True, budget_of=huge)


# --- the mechanisms on their own, without a batch ------------------------------------------------------


def in_child(env: dict[str, str], code) -> tuple[int, str]:
    """``code()`` in a forked child that has joined a budget through ``env``: its exit status and its text."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            os.environ.update(env)
            budget.join()
            text = code()
        except BaseException as error:
            text = repr(error)
        os.write(writer, str(text).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        text = pipe.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), text


def allocate() -> str:
    held = b"x" * (96 * 2**20)
    return f"held {len(held)}"


def start_processes() -> str:
    started = []
    try:
        while len(started) < 40:
            started.append(subprocess.Popen(["sleep", "30"]))
    except OSError as error:
        return f"{len(started)} started, then {error.strerror}"
    finally:
        for process in started:
            process.kill()
            process.wait()
    return f"{len(started)} started"


@pytest.mark.skipif(budget.mechanism() == "rlimits", reason="no writable memory and pids cgroups here (root only)")
def test_a_cgroup_ends_its_process_past_the_memory_budget_and_refuses_processes_past_its_count():
    tight = budget.Budget(memory_bytes=64 * 2**20, processes=8)
    group = budget.Cgroup.make(f"a12-test-{os.getpid()}", tight, budget.mechanism())
    env = {budget.CGROUP_ENV: os.pathsep.join(group.procs_files())}
    try:
        assert in_child(env, allocate)[0] == -signal.SIGKILL
        status, text = in_child(env, start_processes)
        assert status == 0 and text.startswith(("6 started", "7 started")) and "unavailable" in text
        assert group.notes(tight) == [
            "the notebook used more than 64 MiB of memory: a process of its kernel or of its checks was ended",
            "the notebook tried to run more than 8 processes and threads at once",
        ]
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders.values())


def test_rlimits_where_there_are_no_cgroups():
    env = {budget.RLIMITS_ENV: f"{64 * 2**20},{2**20},{budget.PROCESSES}"}
    status, text = in_child(env, lambda: len(b"x" * (1024 * 2**20)))  # more than the process has ever freed
    assert status == 0 and text == "MemoryError()"
    status, text = in_child(env, lambda: resource.getrlimit(resource.RLIMIT_AS)[0] - psutil.Process().memory_info().vms)
    assert 0 < int(text) <= 64 * 2**20
    status, text = in_child(env, lambda: open(os.devnull, "wb") and resource.getrlimit(resource.RLIMIT_FSIZE))
    assert text == str((2**20, 2**20))


def test_sizes_and_the_workers_that_fit():
    assert [budget.parse_size(t) for t in ("3GiB", "600M", "1000", "1.5 GiB")] == [3 * 2**30, 600e6, 1000, 1.5 * 2**30]
    with pytest.raises(ValueError, match="not a size"):
        budget.parse_size("lots")
    assert budget.size_text(3 * 2**30) == "3 GiB" and budget.size_text(20_000_000) == "20 MB"
    total = psutil.virtual_memory().total
    assert budget.fitting_workers(budget.Budget(memory_bytes=2**20), None, 2)[0] == 2
    with pytest.raises(ValueError, match="--workers 3 cannot fit"):
        budget.fitting_workers(budget.Budget(memory_bytes=total // 2), 3, 4)
    with pytest.raises(ValueError, match="not even one submission fits"):
        budget.fitting_workers(budget.Budget(memory_bytes=total), None, 4)


@pytest.mark.skipif(budget.mechanism() == "rlimits", reason="no writable memory and pids cgroups here (root only)")
def test_cgroups_left_by_an_a12_that_was_killed_are_swept_and_a_running_ones_kept():
    kind = budget.mechanism()
    dead = max(psutil.pids()) + 100_000  # no such process
    left = budget.Cgroup.make(f"a12-zoe-{dead}-1", budget.Budget(), kind)
    mine = budget.Cgroup.make(f"a12-zoe-{os.getpid()}-1", budget.Budget(), kind)
    try:
        budget.sweep(kind)
        assert not any(folder.exists() for folder in left.folders.values())
        assert all(folder.exists() for folder in mine.folders.values())
    finally:
        mine.remove()
        left.remove()
