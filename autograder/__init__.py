"""Course package of Assignment 12 (DDPM on MNIST): reference implementation and autograder.

- ``autograder.provided`` / ``autograder.reference``: the notebook's provided code and reference answers.
- ``autograder.checks``: one check per auto-graded rubric item.
- ``autograder.grade``: grade a notebook's answers in isolated processes.
- ``autograder.notebook``: what the hidden test cells call.
- ``autograder.batch``, ``autograder.warm``: ``a12 autograde``, in parallel, warm workers.
"""
NOTEBOOK = "assignment12.ipynb"
ASSIGNMENT = "assignment12"
GRADER_ENV = "A12_GRADER"  # a Unix socket where a warm grader waits for one notebook (autograder.warm)
REPORT_ENV = "A12_REPORT"  # the independent report, handed to the kernel for the hidden tests to show
