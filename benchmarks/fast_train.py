"""A faster training loop for the notebook's diffusion models, with the score sheet's hyper-parameters.

Kept from the score sheet: the model classes, the noise and loss (``reference.generate_noisy_samples``
and the mean squared error), Adam with lr 1e-3, batches of 128 from a fresh shuffle every epoch, and
the validation loss (batches of 1000, float32) after every epoch.
Faster because the data stay on the device as one tensor and the losses are summed there (one host
sync an epoch, not one a step); and, as ``Speedups``, bf16 autocast of the model in training,
``torch.compile`` of the model, and one CUDA graph for each whole step (noise, forward, loss,
backward and Adam), which removes the launch overhead that bounds this small model on a GPU.
A short batch (the last of an epoch) is padded to the batch size with examples of weight 0. Every
example passes the model on its own (GroupNorm(1, C), attention within one image), so the loss and
the gradients are those of the short batch, and one graph or compiled shape serves every batch.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from benchmarks import headless

headless.install()  # before the notebook's code: it imports IPython and matplotlib

from autograder.reference import generate_noisy_samples

from . import graphs
from .progress import Progress


@dataclass(frozen=True)
class Speedups:
    """What the fast path uses beyond the data on the device: bf16 autocast of the model in training;
    a ``torch.compile`` mode ("default", "max-autotune-no-cudagraphs", ...); and a CUDA graph for each
    training and validation step (CUDA only; not with the compile modes that make graphs of their own,
    "reduce-overhead" and "max-autotune")."""

    amp: bool = False
    compile: str | None = None
    graphs: bool = False

    def __str__(self) -> str:
        parts = ["data on device"] + ["bf16 autocast"] * self.amp + [f"compile ({self.compile})"] * bool(self.compile)
        return ", ".join(parts + ["CUDA graphs"] * self.graphs)


def parse_speedups(options: str, device: torch.device) -> Speedups:
    """'bf16+compile=max-autotune+graphs', 'plain' or '' (the device's default) as ``Speedups``."""
    if not options:
        options = "bf16+compile+graphs" if device.type == "cuda" else "plain"
    words = dict(word.partition("=")[::2] for word in options.split("+") if word != "plain")
    unknown = set(words) - {"bf16", "compile", "graphs"}
    if unknown:
        raise ValueError(f"unknown fast-path options {sorted(unknown)}: use bf16, compile[=MODE], graphs or plain")
    return Speedups(
        amp="bf16" in words,
        compile=(words["compile"] or "default") if "compile" in words else None,
        graphs="graphs" in words,
    )


@contextmanager
def fast_cuda_settings() -> Iterator[None]:
    """Within the block: cuDNN picks the fastest convolution for each (fixed) shape, and float32 matrix
    products may use TF32 (as cuDNN's convolutions already do by default). Process-wide flags, restored after."""
    saved = torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.benchmark = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32 = saved


@dataclass
class Examples:
    """Images ``x: (N, 1, 32, 32)`` and labels ``y: (N,)``, on one device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Epoch:
    number: int
    train_loss: float
    val_loss: float
    seconds: float  # since training started


def weighted_mse(estimate: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The mean squared error of every example ``(N, ...)``, averaged with weights ``(N,)``.

    With all weights 1 it is ``F.mse_loss(estimate, target)``.
    """
    per_example = (estimate - target).pow(2).flatten(1).mean(1)
    return (per_example * weight).sum() / weight.sum()


def batch_plan(order: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and weights ``(batches, size)`` that take ``order`` in batches of ``size``; the last
    batch is padded with index 0 and weight 0."""
    batches = -(-len(order) // size)
    index = torch.zeros(batches * size, dtype=torch.long, device=order.device)
    index[: len(order)] = order
    weight = (torch.arange(batches * size, device=order.device) < len(order)).float()
    return index.view(batches, size), weight.view(batches, size)


class _Batch:
    """The indices and weights of one batch, in buffers that stay in place (a CUDA graph reads them
    there); at first the first examples of the set, for warm-up steps."""

    def __init__(self, size: int, device: torch.device):
        self.index = torch.arange(size, device=device)
        self.weight = torch.ones(size, device=device)

    def load(self, index: torch.Tensor, weight: torch.Tensor) -> None:
        self.index.copy_(index)
        self.weight.copy_(weight)


class FastTrainer:
    """Train ``model`` (``UNet``, or ``UNetConditional`` with ``conditional=True``) on ``train``,
    validating on ``val`` after every epoch; both already on the model's device."""

    def __init__(
        self,
        model: nn.Module,
        beta: torch.Tensor,
        train: Examples,
        val: Examples,
        speedups: Speedups = Speedups(),
        *,
        conditional: bool = False,
        batch_size: int = 128,
        val_batch_size: int = 1000,
        lr: float = 1e-3,
    ):
        self.device = train.x.device
        if speedups.graphs and self.device.type != "cuda":
            raise ValueError("CUDA graphs need the data and the model on a CUDA device")
        if speedups.graphs and speedups.compile in ("reduce-overhead", "max-autotune"):
            raise ValueError(
                f"compile mode {speedups.compile} makes CUDA graphs of its own: with graphs, "
                "use default or max-autotune-no-cudagraphs"
            )
        self.model, self.beta, self.train, self.val = model, beta.to(self.device), train, val
        self.speedups, self.conditional = speedups, conditional
        on_cuda = dict(fused=True, capturable=speedups.graphs) if self.device.type == "cuda" else {}
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr, **on_cuda)
        mode = None if speedups.compile == "default" else speedups.compile
        self.forward = torch.compile(model, mode=mode, dynamic=False) if speedups.compile else model
        self.train_batch = _Batch(min(batch_size, len(train)), self.device)
        self.val_batch = _Batch(min(val_batch_size, len(val)), self.device)
        self.train_sum = torch.zeros((), device=self.device)
        self.val_sum = torch.zeros((), device=self.device)
        self._train_step: Callable[[], None] | None = None
        self._val_step: Callable[[], None] | None = None
        self.prepare_seconds = 0.0

    def _loss(self, forward: Callable, data: Examples, batch: _Batch, amp: bool) -> torch.Tensor:
        x = data.x.index_select(0, batch.index)
        x_t, noise, t = generate_noisy_samples(x, self.beta)
        inputs = (x_t, t.to(torch.float)) + ((data.y.index_select(0, batch.index),) if self.conditional else ())
        with torch.autocast(self.device.type, torch.bfloat16, enabled=amp, cache_enabled=False):
            estimate = forward(*inputs)
        return weighted_mse(estimate.float(), noise, batch.weight)

    def _train(self) -> None:
        loss = self._loss(self.forward, self.train, self.train_batch, self.speedups.amp)
        loss.backward()
        self.optimizer.step()
        self.train_sum.add_(loss.detach() * self.train_batch.weight.sum())

    def _validate(self) -> None:
        with torch.no_grad():
            loss = self._loss(self.model, self.val, self.val_batch, amp=False)
            self.val_sum.add_(loss * self.val_batch.weight.sum())

    def _zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def prepare(self, warmup: int | None = None) -> float:
        """Compile and capture now, outside the timed training; the seconds taken. Warm-up steps
        (``warmup``; by default 2 where they compile or tune something) are undone afterwards."""
        start = time.perf_counter()
        fresh = [p.detach().clone() for p in self.model.parameters()]
        if self.speedups.graphs:
            self.model.train()
            self._train_step = graphs.capture(self._train, before=self._zero_grad)
            self.model.eval()
            self._val_step = graphs.capture(self._validate)
        else:

            def train_step() -> None:
                self._zero_grad()
                self._train()

            self._train_step, self._val_step = train_step, self._validate
            if warmup is None:
                warmup = 2 if self.speedups.compile or self.device.type == "cuda" else 0
            self.model.train()
            for _ in range(warmup):
                self._train_step()
        self._restart(fresh)
        self.prepare_seconds = time.perf_counter() - start
        return self.prepare_seconds

    def _restart(self, parameters: list[torch.Tensor]) -> None:
        """Undo warm-up steps: the parameters back in place, Adam's state to its start (zeros)."""
        with torch.no_grad():
            for p, value in zip(self.model.parameters(), parameters):
                p.copy_(value)
        for state in self.optimizer.state.values():
            for value in state.values():
                value.zero_()
        self.train_sum.zero_()
        self.val_sum.zero_()
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def evaluate(self, repeats: int = 1) -> float:
        """The validation loss (as the notebook's ``evaluate``), averaged over ``repeats`` noise draws."""
        if self._val_step is None:
            self.prepare()
        self.model.eval()
        index, weight = batch_plan(torch.arange(len(self.val), device=self.device), len(self.val_batch.index))
        for _ in range(repeats):
            for row in range(len(index)):
                self.val_batch.load(index[row], weight[row])
                self._val_step()
        loss = (self.val_sum / (repeats * len(self.val))).item()
        self.val_sum.zero_()
        return loss

    def fit(self, epochs: int, log: Callable[[str], None] = print) -> list[Epoch]:
        """Train for ``epochs`` epochs; one line of losses per epoch."""
        if self._train_step is None:
            self.prepare()
        history, start = [], time.perf_counter()
        for number in range(1, epochs + 1):
            self.model.train()
            index, weight = batch_plan(torch.randperm(len(self.train), device=self.device), len(self.train_batch.index))
            progress = Progress(f"epoch {number} batches", len(index), log)
            for row in range(len(index)):
                self.train_batch.load(index[row], weight[row])
                self._train_step()
                progress(row + 1)
            train_loss = (self.train_sum / len(self.train)).item()
            self.train_sum.zero_()
            history.append(Epoch(number, train_loss, self.evaluate(), time.perf_counter() - start))
            log(
                f"epoch {number}/{epochs}: training loss {train_loss:.4f}, "
                f"validation loss {history[-1].val_loss:.4f} ({history[-1].seconds:.1f} s)"
            )
        self.model.train()
        return history
