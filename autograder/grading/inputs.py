"""Controlled inputs that the checks hand to a student's code: the noise schedule, a batch of digits,
and a quiet call of a student's function. Shapes: images ``(N, 1, 32, 32)``, labels ``(N,)``.
"""

import contextlib
import inspect
import io
from typing import Any

import torch

from autograder.grading.wire import describe_error

STEPS = 1000  # the checks always use the full schedule of the score sheet


def schedule(steps: int = STEPS) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fresh tensors ``beta``, ``alpha``, ``alpha_bar`` of the notebook's noise schedule."""
    beta = torch.linspace(1e-4, 0.02, steps)
    alpha = 1.0 - beta
    return beta, alpha, torch.cumprod(alpha, dim=0)


def digit_batch(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` synthetic MNIST-like images in [-1, 1] (dark background, bright blobs) and labels."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.arange(32, dtype=torch.float32)
    images = torch.full((n, 1, 32, 32), -1.0)
    for _ in range(3):
        cy, cx = torch.rand(2, n, 1, 1, generator=g) * 16 + 8
        width = torch.rand(n, 1, 1, generator=g) * 3 + 1.5
        blob = torch.exp(-((grid[:, None] - cy) ** 2 + (grid[None, :] - cx) ** 2) / (2 * width**2))
        images[:, 0] += 2.5 * blob
    labels = torch.randint(10, (n,), generator=g)
    return images.clamp(-1, 1), labels


def call_quietly(fn, *args, **kwargs):
    """Call a student's function quietly; pass ``device`` only if it takes one. Returns (value, error)."""
    value, error = call_catching(fn, *args, **kwargs)
    return value, error if error is None or isinstance(error, str) else describe_error(error)


def call_catching(fn, *args, **kwargs) -> tuple[Any, BaseException | str | None]:
    """``call_quietly``, but the error is the exception itself (its traceback tells where it arose), or a
    string if there is no function to call."""
    if fn is None:
        return None, "the function is not defined"
    try:
        if "device" in inspect.signature(fn).parameters:
            kwargs["device"] = torch.device("cpu")
    except (TypeError, ValueError):
        pass
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args, **kwargs), None
    except (Exception, SystemExit) as error:
        return None, error
