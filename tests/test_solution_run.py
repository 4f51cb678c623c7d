"""autograder.course.solution_run: a saved run's losses read back and judged, a real kernel's run saved with
its outputs, a killed run resumed from its checkpoints, and the committed solution's losses against the
score sheet's."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output

from autograder.course import checkpoint, cli, coursedir, solution_run

from .conftest import SOLUTION

FULL_RUN = "full mode: 55000 training images, 20 epochs\n"
REPORTS = {
    "train_model": "training loss 0.0199, validation loss 0.0187\n1840.0 examples/sec on cuda\n",
    "train_model_conditional": "training loss 0.0192, validation loss 0.0201\n1790.5 examples/sec on cuda\n",
}


def with_outputs(mode: str, reports: dict[str, str]) -> nbformat.NotebookNode:
    """The solution notebook with only these printed outputs, in the mode cell and the training cells."""
    nb = nbformat.read(SOLUTION, as_version=4)
    printed = {"quick_mode": mode, **reports}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text=printed[grade_id])] if grade_id in printed else []
    return nb


def test_bounds_are_tight_after_20_epochs_and_wider_before():
    assert solution_run.bounds(20) == pytest.approx((0.9, 1.1))
    assert solution_run.bounds(40) == solution_run.bounds(20)
    assert solution_run.bounds(5) == pytest.approx((0.9, 1.55))
    assert solution_run.bounds(1) == pytest.approx((0.9, 3.95))


def test_a_full_run_near_the_score_sheet_passes():
    run = solution_run.read_run(with_outputs(FULL_RUN, REPORTS))
    assert (run.mode, run.num_train, run.epochs) == ("full", 55000, 20)
    assert run.reports["train_model"].val_loss == 0.0187 and run.reports["train_model_conditional"].device == "cuda"
    assert solution_run.check(run) == []


def test_losses_out_of_bounds_are_named():
    reports = dict(REPORTS, train_model="training loss 0.025, validation loss 0.0191\n900.0 examples/sec on cpu\n")
    assert solution_run.check(solution_run.read_run(with_outputs(FULL_RUN, reports))) == [
        "train_model: training loss 0.025 after 20 epochs is outside [0.0176, 0.0216] "
        "(0.9 to 1.1 times the score sheet's 0.0196 after 20)"
    ]
    three_epochs = with_outputs("full mode: 55000 training images, 3 epochs\n", reports)
    assert solution_run.check(solution_run.read_run(three_epochs)) == []


def test_a_run_without_a_training_report_is_a_problem_and_no_outputs_are_no_run():
    run = solution_run.read_run(with_outputs(FULL_RUN, {"train_model": REPORTS["train_model"]}))
    assert solution_run.check(run) == ["train_model_conditional: its outputs hold no training report"]
    assert solution_run.read_run(with_outputs("", {})) is None


def test_the_committed_solution_reports_the_score_sheets_losses():
    run = solution_run.read_run(nbformat.read(SOLUTION, as_version=4))
    if run is None:
        pytest.skip("solutions/assignment12.ipynb holds no outputs of a run yet: `a12 run-solution` makes them")
    if run.mode != "full":
        pytest.skip(f"solutions/assignment12.ipynb holds a {run.mode}-mode run, not comparable with the score sheet")
    assert solution_run.check(run) == []


def stand_in(trains: str) -> nbformat.NotebookNode:
    """A small stand-in for the solution: a device cell, the real mode cell, and ``trains`` as each training cell."""
    cells = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nbformat.read(SOLUTION, as_version=4).cells
    }
    device = nbformat.v4.new_code_cell("import torch\ndevice = torch.device('cpu')")
    return nbformat.v4.new_notebook(
        cells=[device, cells["quick_mode"]]
        + [
            nbformat.v4.new_code_cell(trains, metadata={"nbgrader": {"grade_id": grade_id}})
            for grade_id in solution_run.SCORE_SHEET
        ]
    )


def test_run_solution_runs_in_the_chosen_mode_and_saves_the_outputs(tmp_path, monkeypatch):
    """A real kernel runs a small stand-in for the solution: the real mode cell, training cells that print
    and show a progress bar, which is not saved. Its threads wait by sleeping (OMP_WAIT_POLICY)."""
    monkeypatch.setenv("OMP_WAIT_POLICY", "")  # unset while it runs, as it was before
    monkeypatch.delenv("OMP_WAIT_POLICY")
    trains = (
        "%matplotlib inline\nimport os, matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()\n"
        "print(f'training loss 0.05, validation loss 0.04 (MNIST_ROOT={os.environ[\"MNIST_ROOT\"]}, '\n"
        "      f'OMP_WAIT_POLICY={os.environ.get(\"OMP_WAIT_POLICY\")})')\n"
        "print('10.0 examples/sec on cpu')\n"
        "for _ in progress(range(3)): pass"
    )
    notebook = tmp_path / "assignment12.ipynb"
    nbformat.write(stand_in(trains), notebook)
    lines = []
    run = solution_run.run_solution(notebook, epochs=3, mnist_root=tmp_path / "mnist", log=lines.append)
    assert (run.mode, run.num_train, run.epochs) == ("full", 55000, 3)
    assert set(run.reports) == set(solution_run.SCORE_SHEET)
    saved = nbformat.read(notebook, as_version=4)
    assert solution_run.read_run(saved) == run and "minutes" in saved.metadata["a12_solution_run"]
    assert f"MNIST_ROOT={tmp_path / 'mnist'}, OMP_WAIT_POLICY=PASSIVE" in saved.cells[2].outputs[1].text
    assert "image/png" in saved.cells[2].outputs[0].data and len(saved.cells[2].outputs) == 2
    assert "device: cpu; a full run takes about 3 hours" in saved.cells[1].outputs[0].text
    assert [line.split(" (")[0] for line in lines] == [
        "cell 1/4 ",
        "cell 2/4 quick_mode",
        "cell 3/4 train_model",
        "  figure 1",
        "cell 4/4 train_model_conditional",
        "  figure 1",
    ]


def tiny_solution(path) -> None:
    """A stand-in for the solution at a tiny size: the real training functions, Metrics, Plotter and
    sampler, on 64 random images and a model of one convolution that takes 0.2 s a call (1 s an epoch)."""
    cells = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nbformat.read(SOLUTION, as_version=4).cells
    }
    real = [
        "imports",
        "detect_device",
        "quick_mode",
        "generate_noisy_samples",
        "metrics_and_plotter",
        "train_and_evaluate",
        "train_conditional",
        "sample_from_model",
        "plot_x_hist",
    ]
    data = (
        "images, labels = torch.randn(96, 1, 32, 32), torch.randint(10, (96,))\n"
        "train_data = torch.utils.data.TensorDataset(images[:64], labels[:64])\n"
        "val_data = torch.utils.data.TensorDataset(images[64:], labels[64:])\n"
        "data_loaders = {'train': torch.utils.data.DataLoader(train_data, batch_size=16, shuffle=True),\n"
        "                'val': torch.utils.data.DataLoader(val_data, batch_size=32)}\n"
        "x_0 = images[:10]\n"
        "diffusion_steps = 10\n"
        "beta = torch.linspace(1e-4, 0.2, diffusion_steps)\n"
        "alpha = 1.0 - beta\n"
        "alpha_bar = torch.cumprod(alpha, dim=0)\n"
        "class Tiny(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(1, 1, 3, padding=1)\n"
        "    def forward(self, x, t, label=None):\n"
        "        time.sleep(0.2)\n"
        "        return self.conv(x) + t[:, None, None, None] / 100\n"
    )
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(
        cells=[cells[grade_id] for grade_id in real[:4]]
        + [code(data), *(cells[grade_id] for grade_id in real[4:])]
        + [
            code(f"{model} = Tiny()\n{function}({model}, data_loaders, beta, num_epochs=num_epochs)", metadata=meta)
            for model, function, meta in (
                ("model", "train", cells["train_model"].metadata),
                ("model_conditional", "train_conditional", cells["train_model_conditional"].metadata),
            )
        ]
        + [cells["initial_noise"]]
    )
    for cell in nb.cells:
        cell.outputs = []
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


def course_with(folder):
    """A course directory whose solution notebook is the tiny stand-in."""
    (folder / "source" / "assignment12").mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text("")
    tiny_solution(folder / "solutions" / "assignment12.ipynb")
    return folder


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def outputs(nb: nbformat.NotebookNode) -> list[list]:
    """Each code cell's outputs, without the examples/sec line (a time)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            cells.append(
                [
                    re.sub(r"[.\d]+ examples/sec", "N examples/sec", out.get("text", ""))
                    if out.output_type == "stream"
                    else dict(out.get("data", {}))
                    for out in cell.outputs
                ]
            )
    return cells


def in_second_epoch(folder) -> bool:
    """Whether ``folder``'s training is in its second epoch, with a partial checkpoint of it."""
    try:
        return checkpoint.load(checkpoint.partial_path(folder))["epoch"] == 1
    except FileNotFoundError:
        return False


def test_a_killed_run_resumes_from_its_checkpoints_to_the_same_notebook(tmp_path):
    """Two trainings of 3 epochs, checkpointed within epochs too: a run killed (with its kernel) in the
    second training's second epoch, then run again, saves the notebook that an uninterrupted run
    without checkpoints saves."""
    plain = course_with(tmp_path / "plain") / "solutions" / "assignment12.ipynb"
    solution_run.run_solution(plain, quick=True, epochs=3, log=lambda line: None)

    checkpoints, second = tmp_path / "run", tmp_path / "run" / "train_model_conditional"
    command = [sys.executable, "-m", "autograder.course.cli", "--course", str(course_with(tmp_path / "resumed"))]
    command += ["run-solution", "--quick", "--epochs", "3", "--checkpoints", str(checkpoints)]
    command += ["--checkpoint-minutes", "0"]  # a partial checkpoint between every two batches
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not in_second_epoch(second):
        assert first.poll() is None, first.stderr.read().decode()
        time.sleep(0.02)
    for pid in [*children(first.pid), first.pid]:  # the kernel, and a12
        os.kill(pid, signal.SIGKILL)
    first.wait()
    assert checkpoint.saved_epochs(checkpoints / "train_model") == [2, 3]
    assert checkpoint.saved_epochs(second) == [1] and in_second_epoch(second)

    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    resumed = nbformat.read(tmp_path / "resumed" / "solutions" / "assignment12.ipynb", as_version=4)
    assert outputs(resumed) == outputs(nbformat.read(plain, as_version=4))
    assert resumed.metadata["a12_solution_run"]["sessions"] == 2
    log = (checkpoints / "run.log").read_text()
    assert "train_model: resumed after epoch 2/3" in log
    assert "train_model_conditional: resumed in epoch 2/3 after batch" in log
    assert re.search(
        r"train_model_conditional: epoch 3/3, training loss [.\d]+, validation loss [.\d]+, [.\d]+ ex", log
    )
    assert "time left: about" in log and "done: wrote" in log
    assert not checkpoint.partial_path(second).exists()
    assert len(checkpoint.load(checkpoint.checkpoint_path(second, 3))["history"][1][1]) == 3


def test_a_checkpoint_folder_of_another_run_is_refused(tmp_path):
    solution_run.RunFolder(tmp_path, {"epochs": 3}).open()
    with pytest.raises(coursedir.CourseError, match="holds the checkpoints of another run"):
        solution_run.RunFolder(tmp_path, {"epochs": 4}).open()


def test_checkpoints_go_outside_the_course_and_background_needs_them(tmp_path, capsys):
    course = course_with(tmp_path / "course")
    for args, message in (
        (["--checkpoints", str(course / "run")], "give a folder outside the course"),
        (["--background"], "--background needs --checkpoints"),
    ):
        assert cli.main(["--course", str(course), "run-solution", *args]) == 2
        assert message in capsys.readouterr().err


def test_a_background_run_is_detached_and_writes_its_output_to_the_run_folder(tmp_path):
    pid, output = solution_run.start_in_background(["run-solution", "--help", "--background"], tmp_path)
    assert os.getsid(pid) == pid  # its own session: it outlives the terminal that started it
    deadline = time.monotonic() + 120
    while "--checkpoint-minutes" not in output.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "--checkpoint-minutes" in output.read_text()


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no autogroups")
def test_a_niced_background_run_stays_behind_other_work(tmp_path):
    """Its new session's scheduling group gets the niceness of the command that started it."""
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from pathlib import Path; from autograder.course import solution_run; os.nice(7); "
            "pid, _ = solution_run.start_in_background(['run-solution', '--help'], Path(sys.argv[1])); "
            "print(Path(f'/proc/{pid}/autogroup').read_text())",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert started.stdout.split()[-2:] == ["nice", "7"], started.stdout


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no autogroups")
def test_a_niced_runs_kernel_stays_behind_other_work(tmp_path):
    """The kernel starts a session of its own: its scheduling group gets the run's niceness too."""
    trains = (
        "print(open('/proc/self/autogroup').read())\n"
        "print('training loss 0.05, validation loss 0.04')\nprint('10.0 examples/sec on cpu')"
    )
    notebook = tmp_path / "assignment12.ipynb"
    nbformat.write(stand_in(trains), notebook)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from pathlib import Path; from autograder.course import solution_run; os.nice(7); "
            "solution_run.run_solution(Path(sys.argv[1]), log=lambda line: None)",
            str(notebook),
        ],
        check=True,
    )
    printed = nbformat.read(notebook, as_version=4).cells[2].outputs[0].text
    assert printed.splitlines()[0].split()[-2:] == ["nice", "7"], printed
