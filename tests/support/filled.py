"""A filled-in copy of the student release, as a student who answered the written questions hands in.

Every written (manually graded) answer cell gets a short text that names its item ("12.2b"), so a
test can tell the answers apart wherever they are shown; the code answers named in ``code_ids``
are taken from the solution notebook by grade_id; all other code answers keep their stubs.
"""

from pathlib import Path

import nbformat

from autograder.rubric import item_of


def written_answer(grade_id: str) -> str:
    """The text the filled copy gives to a written answer cell."""
    return f"**Answer:**\n\nMy answer to question {item_of(grade_id)}, written in the browser test."


def answer_cells(nb: nbformat.NotebookNode, cell_type: str) -> dict[str, nbformat.NotebookNode]:
    """The answer cells (nbgrader ``solution``) of one cell type, by grade_id."""
    return {
        cell.metadata.nbgrader.grade_id: cell
        for cell in nb.cells
        if cell.cell_type == cell_type and cell.metadata.get("nbgrader", {}).get("solution")
    }


def filled_release(release: Path, solution: Path, code_ids: set[str]) -> nbformat.NotebookNode:
    """The release notebook with all written answers filled in and the code answers ``code_ids``
    (grade_ids) copied from the solution notebook."""
    nb = nbformat.read(release, as_version=4)
    for grade_id, cell in answer_cells(nb, "markdown").items():
        cell.source = written_answer(grade_id)
    solved = answer_cells(nbformat.read(solution, as_version=4), "code")
    code = answer_cells(nb, "code")
    missing = code_ids - code.keys() | code_ids - solved.keys()
    if missing:
        raise KeyError(f"no code answer cell {sorted(missing)} in the release or the solution")
    for grade_id in code_ids:
        code[grade_id].source = solved[grade_id].source
    return nb
