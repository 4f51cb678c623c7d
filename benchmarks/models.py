"""The notebook's models and noise schedule, and trained models saved with what they were trained on."""

from pathlib import Path

import torch
from torch import nn

from benchmarks import headless

headless.install()  # before the notebook's code: it imports IPython and matplotlib

from autograder.provided import UNet, UNetConditional


def schedule(steps: int = 1000) -> torch.Tensor:
    """The notebook's β: linspace(1e-4, 0.02, steps) (1000 steps in full mode, 50 in quick mode)."""
    return torch.linspace(1e-4, 0.02, steps)


def new_model(conditional: bool) -> nn.Module:
    return UNetConditional() if conditional else UNet()


def save(path: Path, model: nn.Module, conditional: bool, **facts) -> None:
    """Save the weights with ``conditional`` and ``facts`` (diffusion steps, epochs, losses, ...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "conditional": conditional, **facts}, path)


def load(path: Path, device: torch.device) -> tuple[nn.Module, dict]:
    """A saved model on ``device``, and the facts saved with it."""
    saved = torch.load(path, map_location=device)
    model = new_model(saved.pop("conditional")).to(device)
    model.load_state_dict(saved.pop("state_dict"))
    return model, saved
