"""benchmarks.fast_train: the fast loop is the notebook's training algorithm (CPU, seeded)."""

import io
from contextlib import redirect_stdout

import pytest
import torch
from torch.nn import functional as F

from autograder import reference
from autograder.provided import UNet, UNetConditional
from benchmarks import models
from benchmarks.fast_train import Examples, FastTrainer, Speedups, batch_plan, parse_speedups, weighted_mse


def examples(n: int, seed: int) -> Examples:
    generator = torch.Generator().manual_seed(seed)
    return Examples(torch.rand(n, 1, 32, 32, generator=generator) * 2 - 1, torch.randint(10, (n,), generator=generator))


def test_weighted_mse_is_mse_and_ignores_examples_of_weight_0():
    a, b = torch.randn(5, 1, 4, 4), torch.randn(5, 1, 4, 4)
    torch.testing.assert_close(weighted_mse(a, b, torch.ones(5)), F.mse_loss(a, b))
    torch.testing.assert_close(weighted_mse(a, b, torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0])), F.mse_loss(a[:3], b[:3]))


def test_batch_plan_takes_every_example_once_and_pads_the_last_batch():
    order = torch.randperm(10)
    index, weight = batch_plan(order, 4)
    assert index.shape == weight.shape == (3, 4)
    assert torch.equal(index.flatten()[:10], order) and torch.equal(
        index.flatten()[10:], torch.zeros(2, dtype=torch.long)
    )
    assert torch.equal(weight.flatten(), torch.tensor([1.0] * 10 + [0.0] * 2))


def test_padding_a_batch_changes_neither_the_loss_nor_the_gradients():
    """Every example passes the model on its own, so zero-weight padding is exact (float32 rounding aside)."""
    torch.manual_seed(0)
    model = UNetConditional()
    x, noise = torch.randn(5, 1, 32, 32), torch.randn(5, 1, 32, 32)
    t, y = torch.randint(1000, (5,)).float(), torch.randint(10, (5,))
    weight = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0])
    losses, grads = [], []
    for n in (3, 5):
        model.zero_grad()
        loss = weighted_mse(model(x[:n], t[:n], y[:n]), noise[:n], weight[:n])
        loss.backward()
        losses.append(loss)
        grads.append([p.grad.clone() for p in model.parameters()])
    torch.testing.assert_close(losses[0], losses[1])
    for short, padded in zip(*grads):
        torch.testing.assert_close(short, padded, rtol=1e-4, atol=1e-7)


@pytest.mark.filterwarnings("ignore:Attempting to set identical low and high xlims")  # the notebook's plot of 1 epoch
def test_an_epoch_is_the_notebooks_train_on_the_same_batches():
    """Seeded alike, one epoch of FastTrainer and of reference.train end with the same weights."""
    train, val = examples(32, 1), examples(16, 2)
    beta = models.schedule(100)
    torch.manual_seed(0)
    fast, notebook = UNet(), UNet()
    notebook.load_state_dict(fast.state_dict())
    torch.manual_seed(7)
    FastTrainer(fast, beta, train, val, batch_size=8, val_batch_size=8).fit(1, log=lambda line: None)
    torch.manual_seed(7)
    order = torch.randperm(32)  # FastTrainer's shuffle, drawn first
    batches = [(train.x[i], train.y[i]) for i in order.split(8)]
    with redirect_stdout(io.StringIO()):
        reference.train(
            notebook,
            {"train": batches, "val": [(val.x[:8], val.y[:8]), (val.x[8:], val.y[8:])]},
            beta,
            num_epochs=1,
            device="cpu",
        )
    for p_fast, p_notebook in zip(fast.parameters(), notebook.parameters()):
        torch.testing.assert_close(p_fast, p_notebook, rtol=1e-4, atol=1e-5)


def test_warm_up_steps_are_undone():
    train, val = examples(16, 3), examples(8, 4)
    model = UNet()
    start = [p.detach().clone() for p in model.parameters()]
    trainer = FastTrainer(model, models.schedule(100), train, val, batch_size=8)
    trainer.prepare(warmup=2)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), start))
    assert all(torch.count_nonzero(v) == 0 for state in trainer.optimizer.state.values() for v in state.values())
    history = trainer.fit(2, log=lambda line: None)
    assert [e.number for e in history] == [1, 2] and all(0 < e.val_loss < 10 for e in history)
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), start))


def test_conditional_training_passes_the_labels():
    seen = []
    model = UNetConditional()
    model.register_forward_pre_hook(lambda module, args: seen.append(args[2].clone()))
    train, val = examples(8, 5), examples(8, 6)
    FastTrainer(model, models.schedule(100), train, val, conditional=True, batch_size=8).fit(1, log=lambda line: None)
    assert sorted(seen[0].tolist()) == sorted(train.y.tolist()) and torch.equal(seen[1], val.y)


def test_speedups_parse_and_graphs_need_cuda():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert parse_speedups("", cpu) == Speedups()
    assert parse_speedups("", cuda) == Speedups(amp=True, compile="default", graphs=True)
    assert parse_speedups("bf16+compile=max-autotune", cpu) == Speedups(amp=True, compile="max-autotune")
    with pytest.raises(ValueError, match="fp8"):
        parse_speedups("fp8", cpu)
    with pytest.raises(ValueError, match="CUDA"):
        FastTrainer(UNet(), models.schedule(100), examples(8, 0), examples(8, 0), Speedups(graphs=True))
