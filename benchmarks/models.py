"""The notebook's models and noise schedule, and trained models saved with what they were trained on."""

from pathlib import Path

import torch
from torch import nn

from benchmarks import headless

headless.install()  # before the notebook's code: it imports IPython and matplotlib

from autograder.course import checkpoint
from autograder.provided import UNet, UNetConditional

RUN_TRAININGS = {False: "train_model", True: "train_model_conditional"}  # a solution run's training cells


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


def load_from_run(folder: Path, conditional: bool, device: torch.device) -> tuple[nn.Module, dict]:
    """The model of a finished training of ``a12 run-solution --checkpoints folder`` (its last
    checkpoint) on ``device``, and what it was trained on."""
    trained = Path(folder) / RUN_TRAININGS[conditional]
    epochs = checkpoint.saved_epochs(trained)
    if not epochs:
        raise FileNotFoundError(f"{trained} holds no checkpoint: is {folder} the folder of a solution run?")
    saved = checkpoint.load(checkpoint.checkpoint_path(trained, epochs[-1]))
    if saved["epoch"] != saved["epochs"]:
        raise ValueError(f"{trained}: the training has not finished (epoch {saved['epoch']} of {saved['epochs']})")
    model = new_model(conditional).to(device)
    model.load_state_dict(saved["model"])
    _, (train_losses, val_losses) = saved["history"]  # the plotter's X and Y
    return model, {
        "diffusion_steps": saved["diffusion_steps"],
        "epochs": saved["epochs"],
        "train_loss": train_losses[-1],
        "val_loss": val_losses[-1],
        "training_seconds": round(saved["seconds"]),
    }
