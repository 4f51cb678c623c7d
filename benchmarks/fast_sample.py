"""Sampling (Algorithm 2 of Ho et al., 2020) of many images at once, optionally a CUDA graph a step.

The same update as the notebook's ``sample_from_model``, x ← a_t·x + b_t·ε_θ(x, t) + σ_t·z, with the
coefficients of ``reference.reverse_step_coefficients`` (σ = 0 on the last step, as z = 0 there).
"""

from collections.abc import Callable

import torch
from torch import nn

from benchmarks import headless

headless.install()  # before the notebook's code: it imports IPython and matplotlib

from autograder.reference import reverse_step_coefficients

from . import graphs
from .progress import Progress


def sample(
    model: nn.Module,
    beta: torch.Tensor,
    n: int,
    *,
    labels: torch.Tensor | None = None,
    batch_size: int = 1000,
    use_graphs: bool = False,
    log: Callable[[str], None] = print,
) -> torch.Tensor:
    """``n`` images ``(n, 1, 32, 32)`` from ``model``, in batches; ``labels: (n,)`` for a conditional model."""
    device = next(model.parameters()).device
    steps = len(beta)
    a, b, sigma = reverse_step_coefficients(torch.arange(steps, device=device), beta.to(device))
    model.eval()
    images = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            x = torch.randn(min(batch_size, n - start), 1, 32, 32, device=device)
            y = None if labels is None else labels[start : start + len(x)].to(device)
            i = torch.zeros(1, dtype=torch.long, device=device)  # the time step, in place for a graph

            def step() -> None:
                t = i.expand(len(x))
                estimate = model(x, t) if y is None else model(x, t, y)
                z = torch.randn_like(x)
                x.copy_(a.index_select(0, i) * x + b.index_select(0, i) * estimate + sigma.index_select(0, i) * z)

            run = step
            if use_graphs:
                run = graphs.capture(step)
                x.normal_()  # the warm-up steps changed x
            progress = Progress(f"sampling {start + len(x)}/{n} images, steps", steps, log)
            for done, time_step in enumerate(reversed(range(steps)), 1):
                i.fill_(time_step)
                run()
                progress(done)
            images.append(x.clone())
    return torch.cat(images)
