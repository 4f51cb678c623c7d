"""benchmarks.fast_sample: the same chain as the notebook's samplers, drawn alike (CPU, seeded)."""

import torch
from torch import nn

from autograder import provided, reference
from benchmarks import models
from benchmarks.fast_sample import sample


class StandIn(nn.Module):
    """A noise estimate that depends on x, t and (if given) the label."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.1))

    def forward(self, x, t, label=None):
        shift = t.float() / 1000 + (0 if label is None else label.float() / 10)
        return self.scale * x + shift[:, None, None, None]


def test_sampling_is_the_notebooks_sample_from_model():
    beta = models.schedule(5)
    torch.manual_seed(3)
    expected, _ = reference.sample_from_model(torch.randn(4, 1, 32, 32), StandIn(), beta, device="cpu")
    torch.manual_seed(3)
    torch.testing.assert_close(sample(StandIn(), beta, 4, log=lambda line: None), expected)


def test_conditional_sampling_is_the_notebooks_sample_from_model_conditional():
    torch.manual_seed(4)
    expected, _ = reference.sample_from_model_conditional(torch.randn(3, 1, 32, 32), StandIn(), provided.beta, label=7)
    torch.manual_seed(4)
    got = sample(StandIn(), provided.beta, 3, labels=torch.full((3,), 7), log=lambda line: None)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)  # 1,000 steps of float32 rounding


def test_samples_in_batches_with_their_labels():
    seen = []
    model = StandIn()
    model.register_forward_pre_hook(lambda module, args: seen.append(args[2].tolist()))
    got = sample(model, models.schedule(3), 5, labels=torch.arange(5), batch_size=2, log=lambda line: None)
    assert got.shape == (5, 1, 32, 32) and torch.isfinite(got).all()
    assert seen == [[0, 1]] * 3 + [[2, 3]] * 3 + [[4]] * 3
