"""Course package of Assignment 12 (DDPM on MNIST): reference implementation and autograder.

Which code runs where:

- ``autograder.grading``: the grading engine, one saved notebook in, a report out. It runs next to
  student code (in the sandbox's child processes) and never imports ``autograder.course``.
- ``autograder.course``: the ``a12`` command and the instructor's processes (nbgrader, warm workers,
  jails, the gradebook). Never imported next to student code.
- At the top, modules whose import paths are contracts with the notebook or with every process:
  ``notebook`` (what the hidden test cells call, in the student's kernel), ``report`` (the grader's
  report, torch-free), ``rubric`` (the score sheet as data), ``limits`` (the nested time and memory
  budget), ``provided`` and ``reference`` (the notebook's provided code and the reference answers).
"""

from pathlib import Path

NOTEBOOK = "assignment12.ipynb"
ASSIGNMENT = "assignment12"
PACKAGE = __name__  # the root package; guards compare module names with it, never with a subpackage's
PACKAGE_DIR = Path(__file__).resolve().parent  # its folder, which jails hide and the sandbox refuses to read
GRADER_ENV = "A12_GRADER"  # a Unix socket where a warm grader waits for one notebook (autograder.course.warm)
REPORT_ENV = "A12_REPORT"  # the independent report, handed to the kernel for the hidden tests to show
