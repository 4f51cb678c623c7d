"""The last lines that the notebook's ``train`` and ``train_conditional`` print, read back.

They print ``training loss 0.0196, validation loss 0.0191`` and ``1840.0 examples/sec on cuda``.
"""

import re
from dataclasses import dataclass

_LOSSES = re.compile(r"training loss ([-+.\deE]+), validation loss ([-+.\deE]+)")
_SPEED = re.compile(r"([.\d]+) examples/sec on (\S+)")


@dataclass(frozen=True)
class TrainReport:
    train_loss: float
    val_loss: float
    examples_per_s: float
    device: str


def read_report(text: str) -> TrainReport | None:
    """The last report in ``text``, or None if it holds none."""
    losses, speeds = _LOSSES.findall(text), _SPEED.findall(text)
    if not losses or not speeds:
        return None
    (train, val), (speed, device) = losses[-1], speeds[-1]
    return TrainReport(float(train), float(val), float(speed), device)
