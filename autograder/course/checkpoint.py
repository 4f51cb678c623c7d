"""Checkpoints of the solution run's trainings, taken inside its kernel (``a12 run-solution --checkpoints DIR``).

The notebook's code runs as students run it. Before a training cell, ``solution_run`` calls ``install``
in the kernel: while the cell runs, the training function (``train``, ``train_conditional``) is a copy of
itself, with the same code, whose global ``range`` is an ``EpochLoop`` and whose ``time`` is the loop's
clock. The first ``range(num_epochs)`` that the function calls, its epoch loop, then:

- starts after the last checkpoint in ``DIR/<cell>/`` that leaves an epoch to run (after a finished
  training, the last epoch is run again), restoring the model, the optimizer, the random number
  generators, the plotter's loss history and the training time so far;
- after every epoch (once the function has plotted it), saves ``epoch-NNN.pt`` (the last two are kept),
  and appends a line to ``DIR/run.log``: the losses, the examples per second and the time left.

``uninstall`` after the cell puts the original function back. Nothing of this is in the notebook.
"""

import builtins
import os
import random
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler

_installed: list[tuple[dict, str, types.FunctionType]] = []


def checkpoint_path(folder: Path, epoch: int) -> Path:
    return Path(folder) / f"epoch-{epoch:03d}.pt"


def saved_epochs(folder: Path) -> list[int]:
    """The epochs after which ``folder`` holds a checkpoint, in order."""
    return sorted(int(path.stem.removeprefix("epoch-")) for path in Path(folder).glob("epoch-[0-9][0-9][0-9].pt"))


def load(path: Path) -> dict:
    """A checkpoint: ``epoch``, ``epochs``, ``seconds``, ``model`` and ``optimizer`` (state dicts),
    ``history`` (the plotter's X and Y), ``rng``, ``diffusion_steps``, ``model_class``."""
    return torch.load(path, map_location="cpu", weights_only=False)  # our own files: they hold RNG states


def save(path: Path, state: dict) -> None:
    """Write ``state`` to ``path`` whole or not at all (a kill mid-write leaves the last checkpoint)."""
    part = path.with_suffix(".part")
    torch.save(state, part)
    os.replace(part, path)


def training_state(
    epoch: int,
    epochs: int,
    seconds: float,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    plotter,
    diffusion_steps: int | None,
) -> dict:
    """What a checkpoint holds after ``epoch`` of ``epochs`` (see ``load``); ``plotter`` has the loss
    history as ``X`` and ``Y``; the random number generators' states are taken now."""
    return {
        "epoch": epoch,
        "epochs": epochs,
        "seconds": seconds,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": (plotter.X, plotter.Y),
        "rng": _rng_states(),
        "diffusion_steps": diffusion_steps,
        "model_class": type(model).__name__,
    }


def _rng_states() -> dict:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"]:
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


def _examples(scope: dict) -> int:
    """The examples of the epoch just done: the count of the training function's ``Metrics``."""
    counts = [v.count for v in scope.values() if hasattr(v, "count") and hasattr(v, "mean") and hasattr(v, "add")]
    return counts[0] if len(counts) == 1 else 0


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.1f} min"


class _Clock:
    """The ``time`` module, but ``time()`` counts the training time of earlier runs (``offset``) too."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)


class EpochLoop:
    """The training function's ``range``: its first call is the epoch loop, with checkpoints."""

    def __init__(self, folder: Path, log: Path, name: str, later_trainings: int = 0, every_s: float = 300):
        self.folder, self.log_path, self.name, self.later = Path(folder), Path(log), name, later_trainings
        self.clock, self._used, self.every_s = _Clock(), False, every_s

    def __call__(self, *args):
        if self._used:
            return builtins.range(*args)
        self._used = True
        return self._epochs(builtins.range(*args).stop, sys._getframe(1))

    def log(self, line: str) -> None:
        with self.log_path.open("a", encoding="utf-8") as file:
            file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

    def _find(self, scope: dict) -> tuple[nn.Module, torch.optim.Optimizer, object]:
        """The model, the optimizer and the plotter among the training function's local variables."""
        kinds = {
            "model": lambda v: isinstance(v, nn.Module),
            "optimizer": lambda v: isinstance(v, torch.optim.Optimizer),
            "plotter": lambda v: all(hasattr(v, a) for a in ("X", "Y", "add")),
        }
        found = []
        for kind, test in kinds.items():
            matches = [v for v in scope.values() if test(v)]
            if len(matches) != 1:
                raise RuntimeError(
                    f"{self.name}: checkpoints need exactly one {kind} among the training function's "
                    f"variables before its epoch loop; found {len(matches)}"
                )
            found.append(matches[0])
        return tuple(found)

    def _watch_batches(self, scope: dict, optimizer: torch.optim.Optimizer, epochs: int) -> dict:
        """Log every ``every_s`` seconds within an epoch: the batches done and their rate (an optimizer
        step hook, which changes nothing in the training)."""
        loaders = [v for v in scope.values() if isinstance(v, DataLoader) and isinstance(v.sampler, RandomSampler)]
        total, batch_size = (len(loaders[0]), loaders[0].batch_size) if len(loaders) == 1 else (None, None)
        epoch = {"number": 0, "steps": 0, "began": time.time(), "logged": time.time()}

        def step(*_):
            epoch["steps"] += 1
            now = time.time()
            if now - epoch["logged"] >= self.every_s and batch_size:
                epoch["logged"] = now
                rate = epoch["steps"] * batch_size / (now - epoch["began"])
                left = (total - epoch["steps"]) * batch_size / rate
                later = total * batch_size / rate * (epochs - epoch["number"] - 1 + self.later * epochs)
                self.log(
                    f"{self.name}: epoch {epoch['number'] + 1}/{epochs}, batch {epoch['steps']}/{total}, "
                    f"{rate:.1f} examples/s; time left: about {_duration(left)} in this epoch, "
                    f"{_duration(left + later)} of training (validation not counted)"
                )

        optimizer.register_step_post_hook(step)
        return epoch

    def _restore(self, epochs: int, model, optimizer, plotter) -> int:
        """Restore the last checkpoint that leaves an epoch to run; return its epoch (0: none)."""
        done = [epoch for epoch in saved_epochs(self.folder) if epoch < epochs]
        if not done:
            return 0
        state = load(checkpoint_path(self.folder, done[-1]))
        if state["epochs"] != epochs:
            raise RuntimeError(
                f"{self.name}: {self.folder} holds checkpoints of a training of {state['epochs']} epochs, "
                f"not {epochs}: use another checkpoint folder"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        plotter.X, plotter.Y = state["history"]
        _set_rng_states(state["rng"])
        self.clock.offset = state["seconds"]
        self.log(f"{self.name}: resumed after epoch {state['epoch']}/{epochs} ({_duration(state['seconds'])} trained)")
        return state["epoch"]

    def _epochs(self, epochs: int, frame: types.FrameType):
        model, optimizer, plotter = self._find(frame.f_locals)
        self.folder.mkdir(parents=True, exist_ok=True)
        start = self._restore(epochs, model, optimizer, plotter)
        began, previous = time.time(), self.clock.offset
        batches = self._watch_batches(frame.f_locals, optimizer, epochs)
        for epoch in builtins.range(start, epochs):
            epoch_began = time.time()
            batches.update(number=epoch, steps=0, began=epoch_began, logged=epoch_began)
            yield epoch
            now = time.time()
            beta = frame.f_locals.get("beta")
            steps = len(beta) if isinstance(beta, torch.Tensor) else None
            state = training_state(epoch + 1, epochs, previous + now - began, model, optimizer, plotter, steps)
            save(checkpoint_path(self.folder, epoch + 1), state)
            for old in saved_epochs(self.folder):
                if old < epoch:
                    checkpoint_path(self.folder, old).unlink()
            per_epoch = (now - began) / (epoch + 1 - start)
            examples = _examples(frame.f_locals)
            left = per_epoch * (epochs - epoch - 1 + self.later * epochs)
            self.log(
                f"{self.name}: epoch {epoch + 1}/{epochs}, training loss {plotter.Y[0][-1]:.4f}, "
                f"validation loss {plotter.Y[1][-1]:.4f}, {examples / (now - epoch_began):.1f} examples/s, "
                f"{_duration(now - epoch_began)}; time left: about {_duration(left)} of training"
                + (f" (this one and {self.later} more)" if self.later else "")
            )


def install(function: str, folder: str, log: str, later_trainings: int = 0) -> None:
    """Call ``function`` of the kernel's namespace with an ``EpochLoop`` (checkpoints in ``folder``)
    until ``uninstall``."""
    from IPython import get_ipython

    namespace = get_ipython().user_ns
    original = namespace[function]
    loop = EpochLoop(Path(folder), Path(log), Path(folder).name, later_trainings)
    copy = types.FunctionType(
        original.__code__,
        dict(original.__globals__, range=loop, time=loop.clock),
        original.__name__,
        original.__defaults__,
        original.__closure__,
    )
    copy.__kwdefaults__ = original.__kwdefaults__
    namespace[function] = copy
    _installed.append((namespace, function, original))


def uninstall() -> None:
    """Put back the functions that ``install`` replaced."""
    while _installed:
        namespace, function, original = _installed.pop()
        namespace[function] = original
