"""LimitedExecute: a time limit per submission, a dead kernel, and grading without running."""

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course.plugins.execute import NOT_RUN, LimitedExecute


def notebook(*sources):
    nb = new_notebook(cells=[new_markdown_cell("# title")] + [new_code_cell(s) for s in sources])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def run(nb, tmp_path, **options):
    nb, _ = LimitedExecute(**options).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return [cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"]


def error(outputs):
    """The name and text of a cell's last error output (an interrupted cell also has a KeyboardInterrupt)."""
    output = [o for o in outputs if o.output_type == "error"][-1]
    return output.ename, f"{output.evalue} {' '.join(output.traceback)}"


def test_skip_reason_runs_nothing_and_marks_every_code_cell(tmp_path):
    outputs = run(notebook("print(1)", "1 / 0"), tmp_path, skip_reason="not run: nbgrader failed")
    assert [error(o)[0] for o in outputs] == [NOT_RUN, NOT_RUN]
    assert all(len(o) == 1 and o[0].evalue == "not run: nbgrader failed" for o in outputs)


def test_cells_after_the_time_limit_are_not_run(tmp_path):
    first, slow, last = run(
        notebook("print('first')", "import time\ntime.sleep(120)", "print('last')"), tmp_path, submission_timeout=6
    )
    assert first[0].text == "first\n"
    assert error(slow)[0] == "CellTimeoutError" and "time limit of 6 s" in error(slow)[1]
    assert error(last)[0] == NOT_RUN and "used up its time limit of 6 s" in error(last)[1]


def test_a_dead_kernel_ends_the_run_cleanly(tmp_path):
    first, fatal, last = run(notebook("print('first')", "import os\nos._exit(1)", "print('last')"), tmp_path)
    assert first[0].text == "first\n"
    assert error(fatal)[0] == NOT_RUN and "kernel died while running this cell" in error(fatal)[1]
    assert "kernel died while running an earlier cell" in error(last)[1]


def test_without_a_limit_it_is_nbgraders_execute(tmp_path):
    outputs = run(notebook("x = 2", "x * 21", "1 / 0"), tmp_path)
    assert outputs[1][0].data["text/plain"] == "42"
    assert error(outputs[2])[0] == "ZeroDivisionError"


def test_stderr_of_a_test_cell_goes_to_stdout_and_errors_still_count(tmp_path):
    nb = notebook(
        "import sys\ndef f():\n    print('progress', file=sys.stderr)\n    return 1",
        "assert f() == 1",
        "assert f() == 2",
        "f()",
    )
    for cell in nb.cells[2:4]:
        cell.metadata.nbgrader = {"grade": True, "solution": False, "points": 1, "grade_id": f"t{id(cell)}"}
    answer, passing, failing, plain = run(nb, tmp_path)
    assert [(o.name, o.text) for o in passing] == [("stdout", "progress\n")]
    assert failing[0].name == "stdout" and error(failing)[0] == "AssertionError"
    assert [o.name for o in plain if o.output_type == "stream"] == ["stderr"]  # not a test cell: left alone
