"""Read a submitted notebook: its answer cells and the code cells the student added.

Malformed notebooks raise ``SubmissionError`` with a message that says what to do.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path


class SubmissionError(Exception):
    """A notebook that cannot be graded automatically; the message says why and what to do."""


@dataclass
class Submission:
    """The student's code: answer cells by grade id, and every student code cell in notebook order."""

    answers: dict[str, str]
    code_cells: list[tuple[str | None, str]]  # (grade id of an answer cell, or None for an added cell; source)
    notes: list[str] = field(default_factory=list)

    def answer(self, grade_id: str) -> str:
        """The source of an answer cell; a clear error if the student deleted it."""
        if grade_id not in self.answers:
            raise SubmissionError(
                f"the answer cell '{grade_id}' is missing from the notebook: "
                "it was deleted, or its nbgrader metadata was removed"
            )
        return self.answers[grade_id]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def read_submission(path: str | Path, max_bytes: int = 200_000_000) -> Submission:
    """Parse the notebook at ``path`` without running anything."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise SubmissionError(
            f"{path.name} is {size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit: "
            "clear the outputs (Edit > Clear Outputs of All Cells) and submit again"
        )
    try:
        notebook = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SubmissionError(
            f"{path.name} is not a valid notebook (not JSON: {error}); "
            "open it in JupyterLab to repair it, or submit the saved .ipynb file"
        ) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise SubmissionError(f"{path.name} is JSON but not a notebook: it has no list of cells")
    if notebook.get("nbformat") != 4:
        raise SubmissionError(
            f"{path.name} has notebook format {notebook.get('nbformat')!r}; nbgrader needs "
            "format 4: open and save it in JupyterLab 4"
        )
    answers: dict[str, str] = {}
    code_cells: list[tuple[str | None, str]] = []
    notes: list[str] = []
    graded = 0
    for cell in notebook["cells"]:
        if not isinstance(cell, dict):
            raise SubmissionError(f"{path.name} holds a cell that is not a JSON object")
        meta = cell.get("metadata", {})
        nbgrader = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
        nbgrader = nbgrader if isinstance(nbgrader, dict) else {}
        grade_id = nbgrader.get("grade_id")
        graded += bool(grade_id)
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        if nbgrader.get("solution") and isinstance(grade_id, str):
            if grade_id in answers:
                notes.append(f"the answer cell '{grade_id}' appears twice; both run, in order, as in the notebook")
                code_cells.append((None, source))
                continue
            answers[grade_id] = source
            code_cells.append((grade_id, source))
        elif not grade_id:
            code_cells.append((None, source))
    if graded == 0:
        raise SubmissionError(
            f"{path.name} has no nbgrader metadata (it was stripped, or the notebook was "
            "recreated): download the assignment again and copy your answers into it"
        )
    return Submission(answers=answers, code_cells=code_cells, notes=notes)
