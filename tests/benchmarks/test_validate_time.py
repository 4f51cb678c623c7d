"""benchmarks.validate_time times every cell of a notebook as Validate runs it: quick mode on, the folder's
nbgrader_config.py loaded (its limit per cell, and what it sets in the kernel's environment)."""

import nbformat

from benchmarks import validate_time


def test_times_each_cell_and_runs_in_quick_mode(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os, time\nassert os.environ['NBGRADER_EXECUTION'] == 'validate' and os.environ['SEEN'] == 'yes'"
        ),
        nbformat.v4.new_code_cell("time.sleep(0.5)  # the slow one"),
        nbformat.v4.new_markdown_cell("not timed"),
    ]
    nbformat.write(nb, tmp_path / "assignment12.ipynb")
    (tmp_path / "nbgrader_config.py").write_text(
        "import os\nc = get_config()\nc.Execute.timeout = 60\nos.environ.setdefault('SEEN', 'yes')\n"
    )
    cells = validate_time.timed_run(tmp_path, {"PATH": "/usr/bin:/bin"})
    assert [name for _, name in cells] == ["import os, time", "time.sleep(0.5)  # the slow one"]
    assert cells[1][0] >= 0.5 > cells[0][0]
