"""Checkpoints of the solution run's trainings, taken inside its kernel (``a12 run-solution --checkpoints DIR``).

The notebook's code runs as students run it. Before a training cell, ``solution_run`` calls ``install``
in the kernel: while the cell runs, the training function (``train``, ``train_conditional``) is a copy of
itself, with the same code, whose global ``range`` is an ``EpochLoop`` and whose ``time`` is the loop's
clock; and the cell's ``data_loaders['train']`` is a ``Batches``, the same loader that the loop can
start after an epoch's first batches. The first ``range(num_epochs)`` that the function calls, its
epoch loop, then:

- starts after the last checkpoint in ``DIR/<cell>/`` that leaves work to do (after a finished
  training, the last epoch is run again), restoring the model, the optimizer, the random number
  generators, the plotter's loss history, the epoch's metrics so far and the training time;
- after every epoch (once the function has plotted it), saves ``epoch-NNN.pt`` (the last two are
  kept); between batches, every ``save_every_s``, saves ``partial.pt`` (the epoch so far);
- appends lines to ``DIR/run.log``: every ``log_every_s`` the batches done and the examples per second,
  after every epoch the losses; with the time left.

``uninstall`` after the cell puts the originals back. Nothing of this is in the notebook.
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

_installed: list[tuple[dict, str, object]] = []


def checkpoint_path(folder: Path, epoch: int) -> Path:
    return Path(folder) / f"epoch-{epoch:03d}.pt"


def partial_path(folder: Path) -> Path:
    return Path(folder) / "partial.pt"


def saved_epochs(folder: Path) -> list[int]:
    """The epochs after which ``folder`` holds a checkpoint, in order."""
    return sorted(int(path.stem.removeprefix("epoch-")) for path in Path(folder).glob("epoch-[0-9][0-9][0-9].pt"))


def load(path: Path) -> dict:
    """A checkpoint: ``epoch`` (the epochs done), ``epochs``, ``seconds``, ``model`` and ``optimizer``
    (state dicts), ``history`` (the plotter's X and Y), ``rng``, ``diffusion_steps``, ``model_class``;
    a partial one also ``batches`` (of the next epoch), ``metrics`` (their count and sums) and
    ``epoch_rng`` (the generators' states when the epoch began)."""
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


class Batches:
    """A training's data loader (its batches, length and attributes) whose next epoch can start after
    its first batches, as the ``EpochLoop`` says."""

    def __init__(self, loader, loop: "EpochLoop"):
        self.loader, self.loop = loader, loop

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def __iter__(self):
        return self.loop.batches(self.loader)


class EpochLoop:
    """The training function's ``range``: its first call is the epoch loop, with checkpoints."""

    def __init__(
        self,
        folder: Path,
        log: Path,
        name: str,
        later_trainings: int = 0,
        save_every_s: float = 600,
        log_every_s: float = 300,
    ):
        self.folder, self.log_path, self.name, self.later = Path(folder), Path(log), name, later_trainings
        self.save_every_s, self.log_every_s = save_every_s, log_every_s
        self.clock, self._used, self._resume, self._training = _Clock(), False, None, None

    def __call__(self, *args):
        if self._used:
            return builtins.range(*args)
        self._used = True
        return self._epochs(builtins.range(*args).stop, sys._getframe(1))

    def log(self, line: str) -> None:
        with self.log_path.open("a", encoding="utf-8") as file:
            file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

    def _find(self, scope: dict, kinds: dict) -> list:
        found = []
        for kind, test in kinds.items():
            matches = [v for v in scope.values() if test(v)]
            if len(matches) != 1:
                raise RuntimeError(
                    f"{self.name}: checkpoints need exactly one {kind} among the training function's "
                    f"variables; found {len(matches)}"
                )
            found.append(matches[0])
        return found

    def _metrics(self):
        """The epoch's ``Metrics`` (a count and sums) among the training function's variables."""
        return self._find(
            self._training["frame"].f_locals,
            {"Metrics": lambda v: all(hasattr(v, a) for a in ("count", "sum", "mean"))},
        )[0]

    def _state(self, epoch: int) -> dict:
        t = self._training
        beta = t["frame"].f_locals.get("beta")
        steps = len(beta) if isinstance(beta, torch.Tensor) else None
        seconds = t["previous"] + time.time() - t["began"]
        return training_state(epoch, t["epochs"], seconds, t["model"], t["optimizer"], t["plotter"], steps)

    def _restore(self, epochs: int) -> int:
        """Restore the last checkpoint that leaves work to do; return the epochs it had done."""
        done = [epoch for epoch in saved_epochs(self.folder) if epoch < epochs]
        paths = [checkpoint_path(self.folder, done[-1])] if done else []
        if partial_path(self.folder).exists():
            paths.append(partial_path(self.folder))
        states = [load(path) for path in paths]
        states = [state for state in states if state["epoch"] >= (done[-1] if done else 0)]
        if not states:
            return 0
        state = states[-1]  # the partial one, if it is not older
        if state["epochs"] != epochs:
            raise RuntimeError(
                f"{self.name}: {self.folder} holds checkpoints of a training of {state['epochs']} epochs, "
                f"not {epochs}: use another checkpoint folder"
            )
        t = self._training
        t["model"].load_state_dict(state["model"])
        t["optimizer"].load_state_dict(state["optimizer"])
        t["plotter"].X, t["plotter"].Y = state["history"]
        _set_rng_states(state["rng"])
        self.clock.offset = state["seconds"]
        where = f"after epoch {state['epoch']}/{epochs}"
        if "batches" in state:
            self._resume = state
            where = f"in epoch {state['epoch'] + 1}/{epochs} after batch {state['batches']}"
        self.log(f"{self.name}: resumed {where} ({_duration(state['seconds'])} trained)")
        return state["epoch"]

    def batches(self, loader):
        """An iterator over one epoch of ``loader``, made now, as ``iter(loader)`` would be: a DataLoader
        draws a seed from the random number generators for each iterator it makes (``tqdm.auto`` makes
        one that it never uses). The epoch's first call records their state, or restores it when the
        epoch resumes within; the iterator's first batch then skips the batches done before."""
        t = self._training
        if t["iterated"] != t["epoch"]:
            t["iterated"] = t["epoch"]
            if self._resume:
                _set_rng_states(self._resume["epoch_rng"])
            t["epoch_rng"] = _rng_states()
        return self._batches(iter(loader), len(loader), loader.batch_size)

    def _batches(self, batches, total: int, batch_size: int):
        t, done = self._training, 0
        resume, self._resume = self._resume, None
        if resume:
            for _ in builtins.range(resume["batches"]):
                next(batches)
            done = resume["batches"]
            _set_rng_states(resume["rng"])
            metrics = self._metrics()
            metrics.count, metrics.sum = resume["metrics"]
        began, saved, logged, first = time.time(), time.time(), time.time(), done
        while True:
            now = time.time()
            if done > first and now - saved >= self.save_every_s:
                metrics = self._metrics()
                state = self._state(t["epoch"])
                state.update(batches=done, metrics=(metrics.count, metrics.sum), epoch_rng=t["epoch_rng"])
                save(partial_path(self.folder), state)
                saved = now
            if done > first and now - logged >= self.log_every_s:
                logged = now
                seconds_per_batch = (now - began) / (done - first)
                left = (total - done) * seconds_per_batch
                later = total * seconds_per_batch * (t["epochs"] - t["epoch"] - 1 + self.later * t["epochs"])
                self.log(
                    f"{self.name}: epoch {t['epoch'] + 1}/{t['epochs']}, batch {done}/{total}, "
                    f"{batch_size / seconds_per_batch:.1f} examples/s; time left: about "
                    f"{_duration(left)} in this epoch, {_duration(left + later)} of training (validation not counted)"
                )
            try:
                batch = next(batches)
            except StopIteration:
                t["examples_per_s"] = (done - first) * batch_size / max(now - began, 1e-9)
                return
            yield batch
            done += 1

    def _epochs(self, epochs: int, frame: types.FrameType):
        model, optimizer, plotter = self._find(
            frame.f_locals,
            {
                "model": lambda v: isinstance(v, nn.Module),
                "optimizer": lambda v: isinstance(v, torch.optim.Optimizer),
                "plotter": lambda v: all(hasattr(v, a) for a in ("X", "Y", "add")),
            },
        )
        self._training = t = {"frame": frame, "model": model, "optimizer": optimizer, "plotter": plotter}
        t.update(epochs=epochs, began=time.time(), previous=0.0, epoch=0, iterated=None)
        self.folder.mkdir(parents=True, exist_ok=True)
        start = self._restore(epochs)
        t.update(began=time.time(), previous=self.clock.offset)
        for epoch in builtins.range(start, epochs):
            epoch_began, t["epoch"] = time.time(), epoch
            yield epoch
            save(checkpoint_path(self.folder, epoch + 1), self._state(epoch + 1))
            partial_path(self.folder).unlink(missing_ok=True)
            for old in saved_epochs(self.folder):
                if old < epoch:
                    checkpoint_path(self.folder, old).unlink()
            now = time.time()
            per_epoch = (now - t["began"]) / (epoch + 1 - start)
            left = per_epoch * (epochs - epoch - 1 + self.later * epochs)
            self.log(
                f"{self.name}: epoch {epoch + 1}/{epochs}, training loss {plotter.Y[0][-1]:.4f}, "
                f"validation loss {plotter.Y[1][-1]:.4f}, {t.get('examples_per_s', 0):.1f} examples/s in training, "
                f"{_duration(now - epoch_began)} in all; "
                f"time left: about {_duration(left)} of training"
                + (f" (this one and {self.later} more)" if self.later else "")
            )


def install(function: str, folder: str, log: str, later_trainings: int = 0, save_every_s: float = 600) -> None:
    """Until ``uninstall``: call ``function`` of the kernel's namespace with an ``EpochLoop``
    (checkpoints in ``folder``), and its ``data_loaders['train']`` as ``Batches``."""
    from IPython import get_ipython

    namespace = get_ipython().user_ns
    original = namespace[function]
    loop = EpochLoop(Path(folder), Path(log), Path(folder).name, later_trainings, save_every_s)
    copy = types.FunctionType(
        original.__code__,
        dict(original.__globals__, range=loop, time=loop.clock),
        original.__name__,
        original.__defaults__,
        original.__closure__,
    )
    copy.__kwdefaults__ = original.__kwdefaults__
    _installed.append((namespace, function, original))
    namespace[function] = copy
    loaders = namespace.get("data_loaders")
    if isinstance(loaders, dict) and "train" in loaders:
        _installed.append((namespace, "data_loaders", loaders))
        namespace["data_loaders"] = dict(loaders, train=Batches(loaders["train"], loop))


def uninstall() -> None:
    """Put back what ``install`` replaced."""
    while _installed:
        namespace, name, original = _installed.pop()
        namespace[name] = original
