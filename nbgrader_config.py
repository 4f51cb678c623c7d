"""nbgrader configuration of the Assignment 12 course (the repository root is the course directory)."""

import os

from autograder.course.plugins import configure
from autograder.limits import CELL_S

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.course_id = "deep-learning-assignment12"
# nbgrader 0.9 keeps the assignment in the gradebook: `a12 release` (nbgrader generate_assignment) adds
# it, and `a12 release --due 2027-01-15T23:59+01:00` stores its due date there (see the end of this file).

# The source notebook marks answers as in the course owner's score sheet.
c.ClearSolutions.begin_solution_delimeter = "### BEGIN ANSWER"
c.ClearSolutions.end_solution_delimeter = "### END ANSWER"
c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE\nraise NotImplementedError()")
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearHiddenTests.begin_test_delimeter = "### BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "### END HIDDEN TESTS"

# Grading runs the notebook in quick mode (it is on whenever NBGRADER_EXECUTION is set). The limit per
# cell is one level of the nested budget in autograder/limits.py.
c.Execute.timeout = CELL_S

# nbgrader scores a test cell 0 if anything reaches stderr. While autograding, the plugins below turn
# a test cell's stderr into stdout; for Validate, and for clean outputs, keep harmless library warnings
# out of the kernel, which inherits this environment.
os.environ.setdefault("PYTHONWARNINGS", "ignore")

# Autograding runs the notebook with a time limit per submission (set by `a12 autograde`) and puts
# the score sheet's grading rules under each free-text answer for graders; feedback leaves them out.
configure(c)

# Never let a run away notebook flood the gradebook and the feedback.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# --- Late submissions --------------------------------------------------------------------------------
# Submission times: `a12 collect` writes nbgrader's timestamp.txt (from --times CSV, or an LMS zip).
# Due date: in the gradebook (`a12 release --due ...`); extensions: each submission's `extension` there.
# The penalty: nbgrader's late-submission plugin (autograder.course.late.PerDayPenalty); by default a late
# submission loses 10 % of its points for every day or part of a day late, all of them after 10 days.
# nbgrader applies it while autograding; `a12 export` applies it to the final total out of 42.
# nbgrader's own plugin instead: "nbgrader.plugins.LateSubmissionPlugin" (penalty_method "none" or "zero").
c.AssignLatePenalties.plugin_class = "autograder.course.late.PerDayPenalty"
c.PerDayPenalty.per_day = 0.1  # share of the points per started day late
c.PerDayPenalty.grace_minutes = 0  # minutes after the due date that cost nothing

# --- Budgets of each submission (autograder/limits.py; `a12 autograde --memory --files --processes
# --notebook-size` overrides them for one batch) --------------------------------------------------------
# c.Budget.memory_bytes = 3 * 2**30  # its kernel's and grader's jails together, their tmpfs included
# c.Budget.files_bytes = 2**30  # each folder its jails write (tmpfs)
# c.Budget.processes = 256  # processes and threads of its jails together
# c.Budget.notebook_bytes = 20_000_000  # the autograded notebook; larger outputs are trimmed, with a note
