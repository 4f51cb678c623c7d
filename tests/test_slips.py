"""``plugins.slips``: a copied answer cell is graded once, a notebook over its size budget is trimmed."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from autograder.course.plugins.slips import KeepOneCopy, LimitSize, notes_of


def answer(source: str, grade_id: str = "answer_1") -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": True, "grade": False, "locked": False}
    return cell


def test_the_copy_with_the_answer_is_kept_and_the_others_become_ordinary_cells():
    nb = new_notebook(cells=[answer("# YOUR CODE HERE\nraise NotImplementedError()"), answer("x = 1"), answer("x = 2")])
    nb, _ = KeepOneCopy().preprocess(nb, {})
    assert ["nbgrader" in cell.metadata for cell in nb.cells] == [False, True, False]
    assert nb.cells[0].source.startswith("# a12: a copy of cell answer_1; not graded")
    assert notes_of(nb) == [
        "cell answer_1 was there 3 times: graded the copy with the answer, the others are ordinary cells"
    ]


def test_outputs_and_sources_over_the_notebook_budget_are_trimmed_with_a_note():
    small = new_code_cell("print('ok')", outputs=[new_output("stream", name="stdout", text="ok\n")])
    loud = new_code_cell("print(x)", outputs=[new_output("stream", name="stdout", text="y" * 3_000_000)])
    nb = new_notebook(cells=[small, loud, new_markdown_cell("z" * 1_500_000)])
    config = Config()
    config.Budget.notebook_bytes = 2_000_000
    nb, _ = LimitSize(config=config).preprocess(nb, {})
    assert len(nbformat.writes(nb).encode()) <= 2_000_000
    assert "[a12: trimmed from 3 MB to keep the autograded notebook within 2 MB" in loud.outputs[0].text
    assert loud.outputs[0].text.startswith("y" * 10_000) and small.outputs[0].text == "ok\n"
    assert nb.cells[2].source == "z" * 1_500_000  # trimming the largest part was enough
    assert notes_of(nb) == ["the notebook was 4.5 MB, over the 2 MB budget: 1 cell source or output trimmed"]
