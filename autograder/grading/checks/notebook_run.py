"""The consistency run: a student's function called as the notebook calls it, in conditions that
code cannot tell from the notebook's.

The probes of the checks hand the student's code stand-ins, shortened schedules, batch shapes and a
caller that the notebook never has; code could see that and behave well only under grading. So each
sampler item (and 12.2c) also runs the student's function once more as nbgrader's run of the
notebook does, in quick mode:

- the globals of the notebook in quick mode (``QUICK``, 10 diffusion steps, ``beta``/``alpha``/``alpha_bar``
  of that length, the trained models' names bound to the models used);
- the provided ``UNet``/``UNetConditional``, the very class the namespace's name holds (``__module__``
  ``__main__``), with fixed random weights (``MODEL_SEED``) and no hooks or attributes of its own: its
  calls are recorded by a global module hook, outside the model;
- the notebook's call, compiled as a cell in the notebook's globals and run in a thread of its own, so
  that no frame of the grader lies below it on the stack;
- the notebook's batch shape and a fixed seed.

The judge recomputes the model's outputs from the recorded inputs with the same weights (on a few
steps, enough to tell recorded outputs from made-up ones) and checks every step of the run against
Algorithm 2 with the reference's coefficients. Random draws may come in any order, from any generator:
each step's added noise is judged by its size, not by its values.
"""

import contextlib
import io
import threading
from typing import Any, TypedDict

import torch

from autograder.grading import wire
from autograder.grading.namespace import main_provided, quick_values
from autograder.limits import CHECKS_S

MODEL_SEED = 1221  # the fixed random weights of the provided models in the consistency run
SEED = 1222


class NotebookRun(TypedDict):
    """What the notebook's call did: the model's calls (inputs and output), the globals it left, an error."""

    calls: list[dict[str, Any]]  # per call of the model: "args" (plain), "out" (plain, None if it raised)
    values: dict[str, Any]  # the globals named in ``keep`` after the call, plain
    error: str | None


def provided_model(conditional: bool) -> torch.nn.Module:
    """The provided U-Net (conditional or not) with the fixed random weights of the consistency run."""
    torch.manual_seed(MODEL_SEED)
    return main_provided()["UNetConditional" if conditional else "UNet"]()


def run_as_notebook(
    ns: dict, source: str, values: dict[str, Any], keep: tuple[str, ...], model: torch.nn.Module | None = None
) -> NotebookRun:
    """Run ``source`` as a notebook cell in ``ns`` in quick mode, with ``values`` bound too, recording the
    calls of ``model``; return the calls and the globals named in ``keep``. ``ns`` is restored after."""
    bound = quick_values() | values
    saved = {name: ns[name] for name in bound if name in ns}
    ns.update(bound)
    calls: list[dict[str, Any]] = []

    def record(module, args, kwargs, out=None):  # out (and kwargs) are None where the forward raised
        if module is model:
            calls.append(
                {
                    "args": wire.plain(list(args) + list((kwargs or {}).values())),
                    "out": None if out is None else wire.plain(out),
                }
            )

    errors: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda hook_args: errors.append(hook_args.exc_value)
    handle = torch.nn.modules.module.register_module_forward_hook(record, with_kwargs=True, always_call=True)
    # the thread's target is the builtin exec: the cell's frame is the first Python frame of the call
    thread = threading.Thread(target=exec, args=(compile(source, "<cell>", "exec"), ns), daemon=True)
    try:
        torch.manual_seed(SEED)
        with contextlib.redirect_stdout(io.StringIO()):
            thread.start()
            thread.join(CHECKS_S)  # the CPU-time limit of the child stops an endless loop first
    finally:
        handle.remove()
        threading.excepthook = previous
    kept = {name: wire.plain(ns.get(name)) for name in keep}
    for name in bound:
        ns.pop(name, None)
    ns.update(saved)
    if thread.is_alive():
        error = f"TimeoutError: it did not finish within {CHECKS_S:g} s"
    else:
        error = wire.describe_error(errors[0]) if errors else None
    return {"calls": calls, "values": kept, "error": error}


def describe_args(args: list) -> str:
    """The shapes and types of a model call's inputs, in words: ``x (10, 1, 32, 32) float32, t () int64``."""
    parts = []
    for name, value in zip(("x", "t", "label"), args):
        if isinstance(value, torch.Tensor):
            parts.append(f"{name} of shape {tuple(value.shape)} and dtype {str(value.dtype).removeprefix('torch.')}")
        else:
            parts.append(f"{name} a {type(value).__name__}")
    return ", ".join(parts)
