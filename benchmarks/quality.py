"""Sample quality: a small MNIST classifier trained here, and a Fréchet distance of its features.

The classifier is independent of the diffusion models (its own architecture, trained on the real
training images here, no downloaded weights). Its accuracy on conditional samples says whether they
show their label; the Fréchet distance between its penultimate features on samples and on real test
images (as FID does with Inception features) says how far the samples' distribution is from MNIST's.
Images: ``(N, 1, 32, 32)`` in [-1, 1]; labels: ``(N,)``.
"""

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .progress import Progress


class DigitClassifier(nn.Module):
    """Three conv-ReLU-maxpool blocks (16, 32, 64 channels) and a 128-wide hidden layer: the features."""

    def __init__(self, width: int = 128):
        super().__init__()
        blocks = []
        for c_in, c_out in ((1, 16), (16, 32), (32, 64)):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks, nn.Flatten(), nn.Linear(64 * 4 * 4, width), nn.ReLU())
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_classifier(
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int = 2,
    batch_size: int = 128,
    lr: float = 1e-3,
    log: Callable[[str], None] = print,
) -> DigitClassifier:
    """Train a ``DigitClassifier`` on images ``x`` and labels ``y`` (on the device it should use)."""
    classifier = DigitClassifier().to(x.device)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    classifier.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x), device=x.device).split(batch_size)
        progress = Progress(f"classifier epoch {epoch}/{epochs}, batches", len(order), log)
        for done, index in enumerate(order, 1):
            optimizer.zero_grad()
            F.cross_entropy(classifier(x[index]), y[index]).backward()
            optimizer.step()
            progress(done)
    return classifier.eval()


@torch.no_grad()
def predict(classifier: DigitClassifier, x: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted labels ``(N,)`` and float64 features ``(N, 128)`` of images ``x`` (clamped to [-1, 1])."""
    labels, features = [], []
    for batch in x.clamp(-1, 1).split(batch_size):
        hidden = classifier.features(batch)
        labels.append(classifier.head(hidden).argmax(1))
        features.append(hidden.double())
    return torch.cat(labels), torch.cat(features)


def accuracy_per_label(predicted: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """The fraction of examples of each label ``(classes,)`` that were predicted as that label."""
    right = torch.zeros(classes, dtype=torch.float64).index_add_(0, labels.cpu(), (predicted == labels).cpu().double())
    return right / torch.bincount(labels.cpu(), minlength=classes)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T


def gaussian_frechet_distance(
    mean_a: torch.Tensor, cov_a: torch.Tensor, mean_b: torch.Tensor, cov_b: torch.Tensor
) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½), the Fréchet (2-Wasserstein) distance of two Gaussians.

    Tr (Σ_a Σ_b)^½ is computed as Tr (Σ_a^½ Σ_b Σ_a^½)^½, the root of a symmetric matrix (float64).
    """
    mean_a, cov_a, mean_b, cov_b = (m.double() for m in (mean_a, cov_a, mean_b, cov_b))
    root_a = _sqrt_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """The Fréchet distance of Gaussians fitted to two feature sets ``(N, D)`` and ``(M, D)``."""
    stats = [(f.double().mean(0), torch.cov(f.double().T)) for f in (features_a, features_b)]
    return gaussian_frechet_distance(*stats[0], *stats[1])
