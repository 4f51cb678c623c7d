"""The namespace in which the checks run a student's code: the notebook's provided code, trusted.

Provided cells of a submission are never run: their names come from ``autograder.provided``,
on the CPU, with the full schedule. The provided classes and functions are defined afresh from its
source in a module ``__main__`` of their own (``main_provided``), as the notebook's cells define them,
so that what student code can see of them (``__module__``, ``__qualname__``) is the notebook's. The student's answer cells that define functions, and the
code cells the student added, are run statement by statement (definitions, imports and
assignments only; bare expressions such as plots and training runs are skipped), each with a
time budget, so that a stray call cannot hold up grading.
"""

import ast
import builtins
import functools
import inspect
import itertools
import os
import signal
import time
from typing import Any

import numpy as np
import torch
from IPython import display
from IPython.core.inputtransformer2 import TransformerManager
from torch import nn
from torch.nn import functional as F

from autograder import provided
from autograder.grading import inputs, wire
from autograder.grading.submission import Submission
from autograder.limits import STATEMENT_S
from autograder.rubric import FUNCTION_CELLS  # answer cells that define functions; checks run the others

QUICK_STEPS = 10  # diffusion steps in quick mode
PROVIDED_NAMES = (
    "SelfAttention",
    "SAWrapper",
    "DoubleConv",
    "Down",
    "Up",
    "OutConv",
    "UNet",
    "UNetConditional",
    "Metrics",
    "Plotter",
    "plot_x_hist",
    "detect_device",
    "progress",
)


_PROVIDED_CODE = compile(inspect.getsource(provided), "<cell>", "exec")  # read before any child is confined


@functools.cache
def main_provided() -> dict[str, Any]:
    """The provided names, defined by running ``autograder.provided``'s source in a ``__main__`` of their
    own, once per process: the classes the checks build models from (student code cannot rebind them)."""
    globals_: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    exec(_PROVIDED_CODE, globals_)
    return {name: globals_[name] for name in PROVIDED_NAMES}


def quick_values() -> dict[str, Any]:
    """The globals that differ in quick mode, as nbgrader runs the notebook: 10 diffusion steps."""
    beta, alpha, alpha_bar = inputs.schedule(QUICK_STEPS)
    return {
        "QUICK": True,
        "num_train": 128,
        "num_val": 64,
        "num_epochs": 1,
        "diffusion_steps": QUICK_STEPS,
        "beta": beta,
        "alpha": alpha,
        "alpha_bar": alpha_bar,
    }


class StatementTimeout(BaseException):
    """A statement of the student's ran past its time budget."""


def controlled_values() -> dict[str, Any]:
    """The provided globals that the checks fix: device, schedule, settings and a batch ``x_0``."""
    beta, alpha, alpha_bar = inputs.schedule()
    x_0, y = inputs.digit_batch(128, seed=0)
    return {
        "device": torch.device("cpu"),
        "QUICK": False,
        "num_train": 55000,
        "num_val": 5000,
        "num_epochs": 1,
        "diffusion_steps": inputs.STEPS,
        "beta": beta,
        "alpha": alpha,
        "alpha_bar": alpha_bar,
        "x_0": x_0,
        "y": y,
    }


def base_namespace() -> dict[str, Any]:
    """The globals of the notebook after its provided cells, without data, trained models or torchvision."""
    ns: dict[str, Any] = {
        "__name__": "__main__",
        "__builtins__": builtins,
        "itertools": itertools,
        "np": np,
        "plt": provided.plt,
        "torch": torch,
        "time": time,
        "nn": nn,
        "F": F,
        "display": display,
        "os": os,
    }
    ns.update(main_provided())
    ns.update(controlled_values())
    return ns


def _on_alarm(signum, frame):
    raise StatementTimeout()


def run_statements(
    source: str, ns: dict[str, Any], budget_s: float = STATEMENT_S, skip_expressions: bool = True
) -> list[str]:
    """Run a cell's top-level statements in ``ns``, each within ``budget_s``; return what went wrong."""
    problems: list[str] = []
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as error:
        return [f"line {error.lineno}: SyntaxError: {error.msg}"]
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for statement in tree.body:
            if skip_expressions and isinstance(statement, ast.Expr):
                continue
            code = compile(ast.Module(body=[statement], type_ignores=[]), "<cell>", "exec")
            signal.setitimer(signal.ITIMER_REAL, budget_s)
            try:
                exec(code, ns)
            except StatementTimeout:
                problems.append(f"line {statement.lineno}: skipped after {budget_s:g} s")
            except (Exception, SystemExit) as error:
                problems.append(f"line {statement.lineno}: {wire.describe_error(error)}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return problems


def student_namespace(submission: Submission) -> dict[str, Any]:
    """``base_namespace`` plus the student's definitions; the controlled values are restored after."""
    ns = base_namespace()
    for grade_id, source in submission.code_cells:
        if grade_id is None or grade_id in FUNCTION_CELLS:
            run_statements(source, ns)
    ns.update(controlled_values())
    return ns
