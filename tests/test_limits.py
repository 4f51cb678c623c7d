"""The nested time budget: each limit fits inside the next, and everyone reads it from ``autograder.limits``."""

import ast
import inspect

from autograder import limits
from autograder.course import cli
from autograder.course.plugins.independent import GradeIndependently
from autograder.grading import sandbox

from .conftest import ROOT


def test_each_level_fits_inside_the_next():
    assert limits.STATEMENT_S < limits.INITIAL_NOISE_STATEMENT_S < limits.CELL_STATEMENT_S < limits.CHECK_CPU_S
    assert limits.CHECK_CPU_S < limits.CHECKS_S < limits.GRADER_S < limits.CELL_S
    assert limits.CELL_S <= limits.SUBMISSION_S < limits.SUBMISSION_S + limits.GRACE_S
    assert limits.NOT_RUN_S <= limits.SUBMISSION_S and limits.CHECK_MEMORY_BYTES > 0


def execute_timeout(config) -> object:
    """The value that an ``nbgrader_config.py`` assigns to ``c.Execute.timeout``, as source text."""
    for node in ast.walk(ast.parse(config.read_text())):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "c.Execute.timeout":
            return ast.unparse(node.value)
    raise AssertionError(f"{config} sets no c.Execute.timeout")


def test_the_configs_and_defaults_read_them():
    assert execute_timeout(ROOT / "nbgrader_config.py") == "CELL_S"
    # the students' config cannot import the course package: the same number, written out
    assert execute_timeout(ROOT / "source" / "assignment12" / "nbgrader_config.py") == str(limits.CELL_S)
    assert GradeIndependently().timeout == limits.GRADER_S
    defaults = inspect.signature(sandbox.observe_isolated).parameters
    assert (defaults["timeout_s"].default, defaults["cpu_s"].default, defaults["memory_bytes"].default) == (
        limits.CHECKS_S,
        limits.CHECK_CPU_S,
        limits.CHECK_MEMORY_BYTES,
    )
    parser = cli.parser()
    assert parser.parse_args(["autograde"]).timeout == limits.SUBMISSION_S


def test_the_budgets_nest_and_a12_autograde_reads_them():
    from autograder.course.budget import Budget

    assert limits.FILES_BYTES < limits.MEMORY_BYTES  # the files are tmpfs pages, counted in the memory too
    assert limits.NOTEBOOK_BYTES < limits.FILES_BYTES and limits.PROCESSES > 0
    budget = Budget()
    assert (budget.memory_bytes, budget.files_bytes, budget.processes, budget.notebook_bytes) == (
        limits.MEMORY_BYTES,
        limits.FILES_BYTES,
        limits.PROCESSES,
        limits.NOTEBOOK_BYTES,
    )
    args = cli.parser().parse_args(["autograde", "--memory", "600MiB", "--processes", "64"])
    assert (args.memory, args.processes, args.files) == (600 * 2**20, 64, None)
