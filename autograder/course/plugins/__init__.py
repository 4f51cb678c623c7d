"""The course's nbgrader plugins, switched on in ``nbgrader_config.py`` by ``configure(c)``.

- ``independent.GradeIndependently`` and ``independent.ApplyIndependentScores``: the auto points
  come from the independent grader, outside the student's kernel, never from the kernel's outputs.

- ``restore.RestoreMissingCells``: grade cells that a student deleted (hidden tests included) are put
  back from the source notebook before grading, as nbgrader's own ``add_missing_cells`` does.
- ``execute.LimitedExecute``: nbgrader's Execute with a time limit for the whole submission; cells it
  could not run (time limit reached, kernel died) get an error output that gives the reason, so their
  test cells score 0 and every cell run before keeps its points.
- ``grading_rules.InsertGradingRules``: the score sheet's grading rules under each free-text answer of
  the autograded notebook, where graders see them in formgrader; ``RemoveGradingRules`` keeps them out
  of the feedback that students get.
"""

from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import Execute, OverwriteCells, SaveAutoGrades

from autograder.course.plugins.execute import LimitedExecute
from autograder.course.plugins.grading_rules import InsertGradingRules, RemoveGradingRules
from autograder.course.plugins.independent import ApplyIndependentScores, GradeIndependently
from autograder.course.plugins.restore import RestoreMissingCells


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
    c.Autograde.autograde_preprocessors = autograde + [InsertGradingRules]
    c.Autograde.sanitize_preprocessors = [
        RestoreMissingCells if preprocessor is OverwriteCells else preprocessor
        for preprocessor in Autograde.sanitize_preprocessors.default()
    ]
    c.GenerateFeedback.preprocessors = [RemoveGradingRules] + GenerateFeedback.preprocessors.default()
