"""autograder.course.solution_run: a saved run's losses read back and judged, a real kernel's run saved with
its outputs, and the committed solution's losses against the score sheet's."""

import nbformat
import pytest
from nbformat.v4 import new_output

from autograder.course import solution_run

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


def test_run_solution_runs_in_the_chosen_mode_and_saves_the_outputs(tmp_path):
    """A real kernel runs a small stand-in for the solution: the real mode cell, training cells that print
    and show a progress bar, which is not saved."""
    cells = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nbformat.read(SOLUTION, as_version=4).cells
    }
    trains = (
        "%matplotlib inline\nimport os, matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()\n"
        "print(f'training loss 0.05, validation loss 0.04 (MNIST_ROOT={os.environ[\"MNIST_ROOT\"]})')\n"
        "print('10.0 examples/sec on cpu')\n"
        "for _ in progress(range(3)): pass"
    )
    device = nbformat.v4.new_code_cell("import torch\ndevice = torch.device('cpu')")
    nb = nbformat.v4.new_notebook(
        cells=[device, cells["quick_mode"]]
        + [
            nbformat.v4.new_code_cell(trains, metadata={"nbgrader": {"grade_id": grade_id}})
            for grade_id in solution_run.SCORE_SHEET
        ]
    )
    notebook = tmp_path / "assignment12.ipynb"
    nbformat.write(nb, notebook)
    lines = []
    run = solution_run.run_solution(notebook, epochs=3, mnist_root=tmp_path / "mnist", log=lines.append)
    assert (run.mode, run.num_train, run.epochs) == ("full", 55000, 3)
    assert set(run.reports) == set(solution_run.SCORE_SHEET)
    saved = nbformat.read(notebook, as_version=4)
    assert solution_run.read_run(saved) == run and "minutes" in saved.metadata["a12_solution_run"]
    assert f"MNIST_ROOT={tmp_path / 'mnist'}" in saved.cells[2].outputs[1].text
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
