"""A notebook's slips that must not cost its grade, or the gradebook's folder: duplicated cells, sizes.

``KeepOneCopy`` (in nbgrader's sanitizing pipeline, instead of ``DeduplicateIds``): a cell copied with
its nbgrader metadata (the same grade id twice) makes nbgrader empty the earlier copy's metadata,
and ``CheckCellMetadata`` then refuses the whole notebook as an "old version": 0 points. Here the copy
with the answer is kept (the first one, unless only a later one differs from the release's stub), and
every other copy becomes an ordinary cell, still shown to graders, with a note at its top.

``LimitSize`` (at the end of both pipelines): a notebook over the budget's ``notebook_bytes``
(``autograder.course.budget.Budget``) has its largest cell sources and outputs trimmed, each with a
visible note, until it fits. nbgrader's ``LimitOutput`` counts lines, not bytes.

Both record what they did in the notebook's metadata (``NOTES``), which ``a12 autograde`` reports.
"""

import json

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor

from autograder.course.budget import NOTES, Budget, size_text

KEPT_CHARACTERS = 10_000  # of a trimmed text


def add_note(nb: NotebookNode, note: str) -> None:
    """Record a note for ``a12 autograde``'s report in the notebook's metadata."""
    notes = nb.metadata.setdefault(NOTES, [])
    if note not in notes:
        notes.append(note)


def notes_of(nb: NotebookNode) -> list[str]:
    """The notes recorded in an autograded notebook."""
    return list(nb.metadata.get(NOTES, []))


class KeepOneCopy(NbGraderPreprocessor):
    """Keep one copy of each cell that nbgrader knows by its grade id; the others become ordinary cells."""

    def preprocess(self, nb, resources):
        stubs = ClearSolutions(parent=self)
        blank = {text.strip() for text in (*stubs.code_stub.values(), stubs.text_stub)} | {""}
        copies: dict[str, list[NotebookNode]] = {}
        for cell in nb.cells:
            if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell):
                copies.setdefault(cell.metadata.nbgrader["grade_id"], []).append(cell)
        for grade_id, cells in copies.items():
            if len(cells) == 1:
                continue
            answered = [c for c in cells if c.source.strip() not in blank]
            kept = (answered or cells)[0]
            for cell in cells:
                if cell is not kept:
                    del cell.metadata["nbgrader"]
                    mark = "# " if cell.cell_type == "code" else ""
                    cell.source = f"{mark}a12: a copy of cell {grade_id}; not graded (the graded copy is the one with the answer)\n{cell.source}"
            add_note(
                nb,
                f"cell {grade_id} was there {len(cells)} times: graded the "
                f"{'first copy' if kept is cells[0] else 'copy with the answer'}, the others are ordinary cells",
            )
        return nb, resources


def _size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


class LimitSize(NbGraderPreprocessor):
    """Trim the largest cell sources and outputs, with a note in their place, until the notebook fits."""

    def preprocess(self, nb, resources):
        limit = Budget(parent=self).notebook_bytes
        total = _size(nb)
        if total <= limit:
            return nb, resources
        pieces = []  # (size, cell, index of the output or None for the source)
        for cell in nb.cells:
            pieces.append((_size(cell.source) + _size(cell.get("attachments", {})), cell, None))
            pieces += [(_size(output), cell, number) for number, output in enumerate(cell.get("outputs", []))]
        pieces.sort(key=lambda piece: -piece[0])
        was, trimmed = total, 0
        for size, cell, number in pieces:
            if total <= limit or size < 300:
                break
            if number is not None and utils.is_grade(cell):
                continue  # a test cell's points
            kept = KEPT_CHARACTERS if size > 4 * KEPT_CHARACTERS else 0
            note = (
                f"[a12: trimmed from {size_text(size)} to keep the autograded notebook within "
                f"{size_text(limit)}; the submitted notebook has it whole]"
            )
            if number is None:
                cell.source = cell.source[:kept] + "\n\n" + note
                cell.pop("attachments", None)
                total -= size - _size(cell.source)
            else:
                output = cell.outputs[number]
                text = output.get("text") or json.dumps(output.get("data", {}).get("text/plain", ""))
                cell.outputs[number] = new_output("stream", name="stdout", text=f"{str(text)[:kept]}\n{note}\n")
                total -= size - _size(cell.outputs[number])
            trimmed += 1
        add_note(
            nb,
            f"the notebook was {size_text(was)}, over the {size_text(limit)} budget: "
            f"{trimmed} cell source{'s' * (trimmed > 1)} or output{'s' * (trimmed > 1)} trimmed",
        )
        return nb, resources
