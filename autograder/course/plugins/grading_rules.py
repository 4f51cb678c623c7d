"""Grader assist: the score sheet's grading rules next to each free-text answer.

The rules of a manual item are written in the source notebook, inside the answer region after
"**Grading:**", so the student release never holds them. ``InsertGradingRules`` runs at the end of
autograding and puts a markdown cell with the rules under each answer of the autograded notebook,
which formgrader shows to the grader. ``RemoveGradingRules`` runs first in feedback generation and
takes those cells out again: feedback can be made before every answer is graded, or while other
students still work under an extension, so it never shows the rules.
"""

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

RULES_KEY = "a12_grading_rules"  # cell metadata key of an inserted rules cell; holds the answer's grade id
ANSWER_REGION = re.compile(r"### BEGIN ANSWER\n(.*?)### END ANSWER", re.S)
GRADING = "**Grading:**"


def grading_rules(source_notebook: Path) -> dict[str, str]:
    """The rules of every manually graded answer cell of a source notebook, by grade id."""
    rules = {}
    for cell in nbformat.read(source_notebook, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "markdown" or not (meta.get("grade") and meta.get("solution")):
            continue
        for region in ANSWER_REGION.findall(cell.source):
            if GRADING in region:
                rules[meta["grade_id"]] = region.split(GRADING, 1)[1].strip()
    return rules


def rules_cell(grade_id: str, points: float, rules: str) -> NotebookNode:
    """The markdown cell that shows the rules to the grader."""
    unit = "point" if points == 1 else "points"
    text = (
        f"**Grading rules** ({points:g} {unit}, from the score sheet; for graders, never in the feedback):\n\n{rules}"
    )
    return nbformat.v4.new_markdown_cell(text, metadata={RULES_KEY: grade_id})


def is_rules_cell(cell: NotebookNode) -> bool:
    return RULES_KEY in cell.get("metadata", {})


class InsertGradingRules(NbGraderPreprocessor):
    """Put the grading rules under each free-text answer (formgrader shows them to the grader)."""

    def preprocess(self, nb, resources):
        coursedir = CourseDirectory(config=self.config)
        assignment, notebook = resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"]
        source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{notebook}.ipynb"
        if not source.is_file():
            self.log.warning("No grading rules shown to graders: %s is missing", source)
            return nb, resources
        rules = grading_rules(source)
        cells = []
        for cell in nb.cells:
            if is_rules_cell(cell):  # never trust such a cell from the submission
                continue
            cells.append(cell)
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "markdown" and grade_id in rules:
                cells.append(rules_cell(grade_id, cell.metadata.nbgrader.get("points", 0), rules[grade_id]))
        nb.cells = cells
        return nb, resources


class RemoveGradingRules(NbGraderPreprocessor):
    """Take the grading rules out of a notebook before it becomes feedback."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not is_rules_cell(cell)]
        return nb, resources
