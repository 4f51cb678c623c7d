"""The wire format between the sandbox's children and the grader: plain data only.

A child sends its observations as bytes that the parent loads with ``torch.load(weights_only=True)``:
tensors, numbers, strings and containers of them, never objects of the student's. ``Outcome`` is what
the sandbox returns per item.
"""

import io
from typing import Any, NotRequired, TypedDict

import numpy as np
import torch

_save = torch.save  # bound before any student code runs


class CellRun(TypedDict):
    """An answer cell run whole by a check, with spies in place of the samplers: what they saw."""

    calls: list[dict[str, Any]]  # one per call of the spied sampler: its inputs and outputs, plain
    problems: list[str]  # what went wrong running the cell's statements
    x_0: torch.Tensor


class Outcome(TypedDict):
    """What one sandboxed child reported for one item: observations, or the error why there are none."""

    observations: NotRequired[dict[str, Any]]
    error: NotRequired[str]
    seconds: float  # from the start until the child reported


def dump(value: Any) -> bytes:
    buffer = io.BytesIO()
    _save(value, buffer)
    return buffer.getvalue()


def load(payload: bytes) -> Any:
    return torch.load(io.BytesIO(payload), weights_only=True)


def plain(value: Any) -> Any:
    """A copy of a student's value as plain data: tensors, numbers, strings and containers of them."""
    if isinstance(value, torch.Tensor):
        with torch.inference_mode(False):  # a normal tensor, even of one made under torch.inference_mode
            return torch.Tensor.as_subclass(value, torch.Tensor).detach().cpu().clone()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    if isinstance(value, bool):
        return bool(int.__int__(value))
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in list(value)] if len(value) < 10_000 else "a long sequence"
    return f"a {type(value).__name__}"


def describe_error(error: BaseException) -> str:
    """One line for the student: the exception's type and message."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0][:300]}" if message else type(error).__name__
