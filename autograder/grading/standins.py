"""Stand-ins and spies that the checks hand to a student's code in place of trained models, the
provided ``Metrics`` and ``Plotter``, and the student's own functions.

They run in the same process as the student's code and only record what they see; judging happens
elsewhere, on plain data (see ``autograder.grading.sandbox``). Shapes: images ``(N, 1, 32, 32)``, time
steps and labels ``(N,)``.
"""

import contextlib
import functools
import inspect
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from autograder import provided
from autograder.grading.inputs import STEPS, call_quietly, schedule
from autograder.grading.namespace import main_provided
from autograder.grading.wire import plain


def _need_label(label) -> None:
    if label is None:  # the message of UNetConditional, with a hint
        raise TypeError("forward() missing 1 required positional argument: 'label' (pass the labels to the model)")


def eps_bank(seed: int, conditional: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The fixed parts of ``EpsBank``'s estimates: one image per time step, and one per label."""
    g = torch.Generator().manual_seed(seed)
    per_step = torch.randn(STEPS, 1, 32, 32, generator=g)
    per_label = torch.randn(10, 1, 32, 32, generator=g) if conditional else None
    return per_step, per_label


def eps_estimate(
    x: torch.Tensor,
    t: torch.Tensor,
    label: torch.Tensor | None,
    per_step: torch.Tensor,
    per_label: torch.Tensor | None,
    alpha_bar: torch.Tensor,
) -> torch.Tensor:
    """ε_θ(x, t[, label]) = x/√(1−ᾱ_t) + G[t] (+ H[label]): the exact noise estimate for data x_0 = 0,
    plus a known image per step (and label), so that a sampler's steps can be told apart and
    its samples stay of order 1."""
    t = t.long()
    eps = x / torch.sqrt(1 - alpha_bar[t]).to(x.dtype).view(-1, *[1] * (x.dim() - 1)) + per_step[t].to(x.dtype)
    if per_label is not None:
        eps = eps + F.embedding(label, per_label.flatten(1)).view(-1, 1, 32, 32).to(x.dtype)
    return eps


class StandIn(nn.Module):
    """Base of the stand-ins for a trained model: an ``nn.Module`` in everything but its forward.

    It holds one real parameter, so that ``eval``, ``to``, ``parameters``, ``state_dict``,
    ``next(model.parameters()).device`` and hooks work as on the U-Net; the forward never uses it.
    """

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))


class EpsBank(StandIn):
    """A stand-in for the trained U-Net, with the known estimate ``eps_estimate``; records every call.

    Like the U-Net, it needs ``t`` as a tensor and the label as an integer tensor.
    """

    def __init__(self, seed: int, conditional: bool = False):
        super().__init__()
        self.per_step, self.per_label = eps_bank(seed, conditional)
        self.alpha_bar = schedule()[2]
        self.conditional = conditional
        self.calls: list[dict] = []

    def forward(self, x, t, label=None):
        record = {"x": plain(x), "t": plain(t)}
        if self.conditional:
            _need_label(label)
            record["label"] = plain(label)
        self.calls.append(record)
        return eps_estimate(x, t, label if self.conditional else None, self.per_step, self.per_label, self.alpha_bar)


class StopSampling(BaseException):
    """Raised by ``StepProbe`` to end a sampler after the steps it probes (a student's
    ``except Exception`` does not catch it)."""


class StepProbe(StandIn):
    """A stand-in for the U-Net that gives ``eps_estimate`` with a given bank of step images and no
    label term, records the inputs (and any label) of its calls, and stops the sampler at call ``stop_at``."""

    def __init__(self, per_step: torch.Tensor, stop_at: int):
        super().__init__()
        self.per_step = per_step
        self.alpha_bar = schedule()[2]
        self.stop_at = stop_at
        self.calls: list[dict] = []

    def forward(self, x, t, *args, **kwargs):
        labels = list(args) + list(kwargs.values())
        self.calls.append({"x": plain(x), "t": plain(t), "label": plain(labels[0]) if labels else None})
        if len(self.calls) == self.stop_at:
            raise StopSampling()
        return eps_estimate(x, torch.as_tensor(t).expand(x.shape[0]), None, self.per_step, None, self.alpha_bar)


def run_probe(fn, *args) -> tuple[Any, str | None]:
    """``call_quietly`` for a sampler that runs a ``StepProbe``: being stopped is no error.
    Returns (the sampler's value, or None if it was stopped; the error, or None)."""
    try:
        return call_quietly(fn, *args)
    except StopSampling:
        return None, None


@contextlib.contextmanager
def recording_random_draws(draws: list, model_calls: list):
    """Record every 4-d tensor that ``torch.randn``/``randn_like``/``normal``/``rand``/``rand_like`` return.

    Each record notes how many model calls came before it, so a check can tell which noise
    belongs to which minibatch when a student adds noise without ``generate_noisy_samples``.
    """
    names = ("randn", "randn_like", "normal", "rand", "rand_like")
    originals = {name: getattr(torch, name) for name in names}

    def recorder(fn):
        def draw(*args, **kwargs):
            out = fn(*args, **kwargs)
            if isinstance(out, torch.Tensor) and out.dim() == 4:
                draws.append({"value": plain(out), "before": len(model_calls)})
            return out

        return draw

    for name in names:
        setattr(torch, name, recorder(originals[name]))
    try:
        yield
    finally:
        for name in names:
            setattr(torch, name, originals[name])


class TinyNoiseModel(nn.Module):
    """A small trainable stand-in for the U-Net in the training checks, recording every call."""

    def __init__(self, conditional: bool = False, who: Callable[[], str | None] = lambda: None):
        super().__init__()
        self.who = who  # names the student's function that makes a call (``CallerOf``)
        self.conv = nn.Conv2d(1, 1, kernel_size=3, padding=1)
        self.time = nn.Linear(2, 1)
        self.label_embedding = nn.Embedding(10, 1) if conditional else None
        self.calls: list[dict] = []

    def forward(self, x, t, label=None):
        phase = torch.stack([torch.sin(t / 100.0), torch.cos(t / 100.0)], dim=-1).to(self.time.weight.dtype)
        out = self.conv(x.to(self.conv.weight.dtype)) + self.time(phase).view(-1, 1, 1, 1)
        record = {"x": plain(x), "t": plain(t), "grad": torch.is_grad_enabled(), "index": len(self.calls)}
        record["by"] = self.who()
        if self.label_embedding is not None:
            _need_label(label)
            record["label"] = plain(label)
            out = out + self.label_embedding(label).view(-1, 1, 1, 1)
        record["out"] = plain(out)
        self.calls.append(record)
        return out


class NoisySamplesSpy:
    """Stands in for ``generate_noisy_samples`` with noisy batches that the reference made beforehand.

    ``prepared`` holds one ``(x_0, x_t, noise, t)`` per known batch; a call with a known batch
    returns its ``(x_t, noise, t)``, and any other call the next prepared one. Inputs and outputs
    are recorded.
    """

    def __init__(self, prepared: list[tuple[torch.Tensor, ...]], who: Callable[[], str | None] = lambda: None):
        self.prepared = prepared
        self.who = who
        self.calls: list[dict] = []

    def __call__(self, x_0, beta):
        known = [
            p
            for p in self.prepared
            if isinstance(x_0, torch.Tensor)
            and p[0].shape == x_0.shape
            and torch.equal(p[0], plain(x_0).to(p[0].dtype))
        ]
        _, x_t, noise, t = known[0] if known else self.prepared[len(self.calls) % len(self.prepared)]
        x_t, noise, t = x_t.clone(), noise.clone(), t.clone()
        self.calls.append(
            {
                "x_0": plain(x_0),
                "beta": plain(beta),
                "x_t": x_t.clone(),
                "noise": noise.clone(),
                "t": t.clone(),
                "grad": torch.is_grad_enabled(),
                "by": self.who(),
            }
        )
        return x_t, noise, t


def metrics_spy(log: list, who: Callable[[], str | None] = lambda: None) -> type:
    """The provided ``Metrics`` class, recording into ``log`` the values added to any instance."""

    class MetricsSpy(provided.Metrics):
        def add(self, count, *values):
            log.append(
                {"count": plain(count), "values": plain(list(values)), "grad": torch.is_grad_enabled(), "by": who()}
            )
            super().add(count, *values)

    return MetricsSpy


def plotter_spy(log: list) -> type:
    """A ``Plotter`` class that records into ``log`` the points it is given, and draws nothing."""

    class PlotterSpy:
        def __init__(self, *args, **kwargs):
            pass

        def add(self, x, y):
            log.append(plain(y))

    return PlotterSpy


class SamplerSpy:
    """A stand-in for a sampling function that records its inputs and returns, for every image,
    a new random image in [-0.9, 0.9]: a fingerprint by which a check traces the cell's results.

    A tensor of one label per image is also handed to ``sampler`` (the student's own), with a
    ``StepProbe``, to record whether the sampler accepts it and passes it on to the model.
    """

    def __init__(self, seed: int, sampler: Callable | None = None):
        self.generator = torch.Generator().manual_seed(seed)
        self.sampler = sampler
        self.calls: list[dict] = []

    def __call__(self, x, model, beta, *args, **kwargs):
        given = list(args) + [value for key, value in kwargs.items() if key != "device"]
        label = given[0] if given else None
        call = {
            "x": plain(x),
            "model": getattr(model, "name", f"a {type(model).__name__}"),
            "beta": plain(beta),
            "label": plain(label),
        }
        if isinstance(label, torch.Tensor) and label.numel() > 1 and isinstance(x, torch.Tensor):
            probe = StepProbe(torch.zeros(STEPS, 1, 32, 32), stop_at=1)
            dressed = presenting(probe, conditional=True)
            _, call["probe_error"] = run_probe(self.sampler, x.detach().clone(), dressed, plain(beta), label)
            call["model_label"] = probe.calls[0]["label"] if probe.calls else None
        if isinstance(x, torch.Tensor):
            x = (torch.rand(x.shape, generator=self.generator) * 1.8 - 0.9).to(x.dtype)
            call["out"] = plain(x)
        self.calls.append(call)
        return x, [np.asarray(plain(x)) for _ in range(10)]


class Sentinel(StandIn):
    """A named stand-in for a trained model, so a check can tell which one a cell passes on."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, *args, **kwargs):
        raise RuntimeError(f"the checks do not run the trained model {self.name}")


class PlotStub:
    """Stands in for ``matplotlib.pyplot``: every function does nothing; ``imshow`` calls a hook."""

    def __init__(self, on_imshow: Callable[[], None] = lambda: None):
        self._on_imshow = on_imshow

    def imshow(self, *args, **kwargs):
        self._on_imshow()

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@functools.cache
def _provided_template(conditional: bool) -> nn.Module:
    """A provided U-Net whose attributes the dressed stand-ins share (built once per process, without
    touching the random state that a check has seeded)."""
    with torch.random.fork_rng(devices=[]):
        return main_provided()["UNetConditional" if conditional else "UNet"]()


def presenting(standin: nn.Module, conditional: bool = False) -> nn.Module:
    """``standin`` dressed as the notebook's model: an instance of a subclass of the provided ``UNet``
    (or ``UNetConditional``) with its name, module and qualified name, and the attributes, submodules and
    parameter shapes of one, whose forward is the stand-in's. Nothing of the stand-in is in its
    ``vars()``; the check keeps ``standin`` to read what it recorded."""
    provided_class = main_provided()["UNetConditional" if conditional else "UNet"]

    def forward(self, *args, **kwargs):
        return standin(*args, **kwargs)

    names = {"__module__": provided_class.__module__, "__qualname__": provided_class.__qualname__}
    dressed = type(provided_class.__name__, (provided_class,), {**names, "forward": forward})
    model = dressed.__new__(dressed)
    template = _provided_template(conditional)
    model.__dict__.update({k: (type(v)(v) if isinstance(v, dict) else v) for k, v in vars(template).items()})
    return model


class CallerOf:
    """Names which of the student's functions a call comes from: the innermost of ``functions``
    (name -> the student's function) on the call stack, so that a check can tell an evaluation
    function's calls from the training function's, and a helper's calls count for its caller."""

    def __init__(self, functions: dict[str, Any]):
        self.names = set(functions)
        self.codes = {}
        for name, fn in functions.items():
            try:
                self.codes[inspect.unwrap(fn).__code__] = name  # through decorators such as @torch.no_grad()
            except Exception:
                pass

    def _name(self, code) -> str | None:
        if code in self.codes:
            return self.codes[code]
        return code.co_name if code.co_filename == "<cell>" and code.co_name in self.names else None

    def __call__(self) -> str | None:
        """The student's function that is running now (the innermost), or None."""
        frame = sys._getframe(1)
        while frame is not None:
            if name := self._name(frame.f_code):
                return name
            frame = frame.f_back
        return None

    def of_error(self, error: BaseException) -> str | None:
        """The student's function in which ``error`` arose (the innermost on its traceback), or None."""
        names = [self._name(frame.f_code) for frame, _ in traceback.walk_tb(error.__traceback__)]
        return next((name for name in reversed(names) if name), None)


def describe_value(value) -> str:
    """A value's type and shape, as a reason names it: ``float64 tensor of shape (2,)``."""
    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def failed_model_call(error: BaseException) -> str | None:
    """If ``error`` arose inside the forward of the provided ``UNet``/``UNetConditional``: what it was given."""
    forwards = {provided.UNet.forward.__code__, provided.UNetConditional.forward.__code__}
    for frame, _ in traceback.walk_tb(error.__traceback__):
        if frame.f_code in forwards:
            given = {name: frame.f_locals.get(name) for name in ("x", "t", "label") if name in frame.f_locals}
            return ", ".join(f"{name}: {describe_value(value)}" for name, value in given.items())
    return None


def noisy_samples_function(spy: NoisySamplesSpy) -> Callable:
    """``spy`` as a plain function named and placed like the notebook's ``generate_noisy_samples``."""

    def generate_noisy_samples(x_0, beta):
        return spy(x_0, beta)

    generate_noisy_samples.__module__ = "__main__"
    return generate_noisy_samples
