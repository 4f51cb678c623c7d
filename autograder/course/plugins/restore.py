"""Grade cells that a student deleted come back before grading, as nbgrader restores locked cells.

``RestoreMissingCells`` is nbgrader's ``OverwriteCells`` with ``add_missing_cells`` on: a deleted
hidden-test cell (or a deleted free-text answer cell) is put back from the gradebook's copy of the
source notebook, with nbgrader's notice at its top, so that the independent grader's points have a
cell to land on. nbgrader 0.9.6 puts a missing cell after the cell that precedes it in the source,
and fails when that cell is missing too (a question's markdown cell, or the answer cell deleted as
well); this version puts it after the nearest earlier source cell that the submission still has.
``ApplyIndependentScores`` notes on each restored test cell that it was restored.
"""

from nbformat import NotebookNode
from nbgrader.preprocessors import OverwriteCells
from traitlets import Bool


class RestoreMissingCells(OverwriteCells):
    """``OverwriteCells`` that also puts deleted grade cells back, where they were."""

    add_missing_cells = Bool(True, help="Put grade cells deleted from a submission back").tag(config=True)

    def add_missing_grade_cells(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source_nb.source_cells]
        solutions = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in sorted(source_nb.grade_cells, key=lambda c: order.index(c.name) if c.name in order else 0):
            present = {
                cell.metadata["nbgrader"]["grade_id"]: index
                for index, cell in enumerate(nb.cells)
                if cell.metadata.get("nbgrader", {}).get("grade_id")
            }
            if grade_cell.name in present or grade_cell.name not in order:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            source_cell = source_nb.source_cells[order.index(grade_cell.name)]
            cell = self.missing_cell_transform(source_cell, grade_cell.max_score, grade_cell.name in solutions)
            before = [present[name] for name in order[: order.index(grade_cell.name)] if name in present]
            nb.cells.insert(max(before) + 1 if before else 0, cell)
        return nb, resources


def was_restored(cell: NotebookNode) -> bool:
    """Whether ``RestoreMissingCells`` put this cell back (its source starts with nbgrader's notice)."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    notice = OverwriteCells.missing_cell_notification.default_value.format(cell_id=grade_id)
    return cell.source.startswith(("# " + notice, notice))
