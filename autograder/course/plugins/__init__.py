"""The course's nbgrader plugins, switched on in ``nbgrader_config.py`` by ``configure(c)``.

- ``independent.GradeIndependently`` and ``independent.ApplyIndependentScores``: the auto points
  come from the independent grader, outside the student's kernel, never from the kernel's outputs.

- ``restore.RestoreMissingCells``: grade cells that a student deleted (hidden tests included) are put
  back from the source notebook before grading, as nbgrader's own ``add_missing_cells`` does.
- ``execute.LimitedExecute``: nbgrader's Execute with a time limit for the whole submission; cells it
  could not run (time limit reached, kernel died) get an error output that gives the reason, so their
  test cells score 0 and every cell run before keeps its points.
- ``slips.KeepOneCopy`` and ``slips.LimitSize``: a cell copied with its grade id is graded once, not
  refused as an "old version"; a notebook over its size budget has its largest parts trimmed, with a note.
- ``grading_rules.InsertGradingRules``: the score sheet's grading rules under each free-text answer of
  the autograded notebook, where graders see them in formgrader; ``RemoveGradingRules`` keeps them out
  of the feedback that students get.
- ``inert.InertStudentWork`` and ``inert.markdown2html``: in nbconvert's HTML exporter, which renders
  submissions in formgrader and in the feedback, student work is shown as inert HTML.
- ``formgrader_csp.install``: a Content-Security-Policy on formgrader's submission pages.
- ``audit.claim``: this process's changes of manual grades are recorded with its path (``audit``).
"""

from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import DeduplicateIds, Execute, OverwriteCells, SaveAutoGrades

from autograder.course import audit, formgrader_csp
from autograder.course.inert import InertStudentWork, markdown2html
from autograder.course.plugins.execute import LimitedExecute
from autograder.course.plugins.grading_rules import RULES_KEY, InsertGradingRules, RemoveGradingRules
from autograder.course.plugins.independent import ApplyIndependentScores, GradeIndependently
from autograder.course.plugins.restore import RestoreMissingCells
from autograder.course.plugins.slips import KeepOneCopy, LimitSize


def configure(c) -> None:
    """Put the plugins into nbgrader's own default pipelines (``c`` is nbgrader's config object)."""
    autograde = []
    for preprocessor in Autograde.autograde_preprocessors.default():
        if preprocessor is Execute:
            autograde += [GradeIndependently, LimitedExecute]
        elif preprocessor is SaveAutoGrades:
            autograde += [ApplyIndependentScores, SaveAutoGrades]
        else:
            autograde.append(preprocessor)
    c.Autograde.autograde_preprocessors = autograde + [InsertGradingRules, LimitSize]
    replaced = {DeduplicateIds: KeepOneCopy, OverwriteCells: RestoreMissingCells}
    sanitize = Autograde.sanitize_preprocessors.default()
    c.Autograde.sanitize_preprocessors = [replaced.get(p, p) for p in sanitize] + [LimitSize]
    c.GenerateFeedback.preprocessors = [RemoveGradingRules] + GenerateFeedback.preprocessors.default()
    # formgrader's and generate_feedback's HTMLExporter: nothing a student wrote runs in a page a person opens
    c.HTMLExporter.preprocessors = [InertStudentWork]
    c.HTMLExporter.filters = {"markdown2html": markdown2html}
    # nbconvert runs the exporter's own preprocessors before generate_feedback's: RemoveGradingRules must
    # still see which cells hold the rules
    c.InertStudentWork.kept_cell_metadata = [RULES_KEY]
    # every write of manual grades by this process is recorded as formgrader's (in a Jupyter server) or nbgrader's
    audit.claim()
    if audit.in_jupyter_server():  # formgrader's submission pages also get a Content-Security-Policy
        formgrader_csp.install()
