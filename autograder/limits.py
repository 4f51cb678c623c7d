"""The nested time and memory budget of grading one submission, innermost first: one home for all of them.

Each level must fit inside the next, so that the innermost limit that a submission reaches is the one
that names the problem (``tests/test_limits.py`` checks the order). The sandbox, the grader, the hidden
test cells' client, ``nbgrader_config.py`` and ``a12 autograde``'s defaults all read them from here.
"""

# One top-level statement of a student's answer cell while the checks build its namespace (a stray
# training run or plot is cut short, and the rest of the cell still defines its functions).
STATEMENT_S = 2.0
# One top-level statement of an answer cell that a check runs whole (12.2a's plotting loop, 12.8f, 12.8g).
CELL_STATEMENT_S = 20.0
# The same for 12.6d's initial-noise cell, whose child has already spent CPU time on the sampler's runs.
INITIAL_NOISE_STATEMENT_S = 10.0
# CPU time of one item's sandboxed child process: robust to a busy machine, unlike wall-clock time.
CHECK_CPU_S = 30
# Memory that one sandboxed child may add to what it started with.
CHECK_MEMORY_BYTES = 2_000_000_000
# Wall-clock time for all sandboxed children of one notebook together (they run at once).
CHECKS_S = 240
# One run of the grader process (``python -m autograder.grading.grade``): its imports, the checks, the report.
GRADER_S = 290
# nbgrader's limit per cell (``Execute.timeout``), for Validate and autograding; a hidden test cell that
# grades the saved notebook itself (outside autograding) runs the grader within it.
CELL_S = 300
# ``a12 autograde``: all cells of one submission together (``LimitedExecute``); the default of ``--timeout``.
SUBMISSION_S = 600
# On top of SUBMISSION_S: nbgrader's start, the kernel's start and writing the results, after which the
# submission's whole process tree is stopped.
GRACE_S = 120
# Grading a notebook again without running it (its cells already ran): seconds, given this much.
NOT_RUN_S = 120

# --- The budget of one submission: space, not time (``autograder.course.budget`` enforces it) ----------

# Memory of everything in one submission's jails together, the kernel's and the grader's, their ``/tmp``
# and working folders included (tmpfs): an honest quick-mode kernel peaks at about 1.3 GiB.
MEMORY_BYTES = 3 * 2**30
# Files that one submission's jail may write in each of its folders (size-limited tmpfs; counted in memory too).
FILES_BYTES = 2**30
# Processes and threads of one submission's jails together: an honest one needs a few dozen.
PROCESSES = 256
# The autograded notebook: larger outputs and cells are trimmed with a note; it lives in the gradebook's folder
# and in every later export and feedback run.
NOTEBOOK_BYTES = 20_000_000
# Memory left out of the workers' budgets: the warm server, ``a12``, and each worker's nbgrader.
RESERVED_BYTES = 2 * 2**30
