"""benchmarks.quality: the Fréchet distance and the classifier (synthetic data, CPU, seeded)."""

import pytest
import torch

from benchmarks.quality import (
    accuracy_per_label,
    frechet_distance,
    gaussian_frechet_distance,
    predict,
    train_classifier,
)


def test_frechet_distance_is_0_for_the_same_features_and_positive_otherwise():
    torch.manual_seed(0)
    features = torch.randn(500, 16, dtype=torch.float64) @ torch.randn(16, 16, dtype=torch.float64)
    scale = torch.cov(features.T).trace().item()
    assert abs(frechet_distance(features, features)) < 1e-9 * scale
    assert frechet_distance(features, features + 0.5) == pytest.approx(16 * 0.25, rel=1e-6)  # shifted: ‖Δμ‖² only
    assert frechet_distance(features, 2 * features) > 0.1 * scale


def test_gaussian_frechet_distance_of_diagonal_gaussians():
    """For diagonal covariances: ‖μ_a − μ_b‖² + Σ (√a_i − √b_i)²."""
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    mean_a, mean_b = torch.zeros(3), torch.tensor([1.0, 2.0, 0.0])
    expected = 5.0 + ((a.sqrt() - b.sqrt()) ** 2).sum().item()
    assert gaussian_frechet_distance(mean_a, torch.diag(a), mean_b, torch.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_gaussian_frechet_distance_agrees_with_scipys_matrix_square_root():
    linalg = pytest.importorskip("scipy.linalg")
    torch.manual_seed(1)
    m_a, m_b = torch.randn(8, 8, dtype=torch.float64), torch.randn(8, 8, dtype=torch.float64)
    cov_a, cov_b = m_a @ m_a.T, m_b @ m_b.T
    mean_a, mean_b = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    root = linalg.sqrtm(cov_a.numpy() @ cov_b.numpy()).real
    expected = ((mean_a - mean_b) ** 2).sum().item() + (cov_a.trace() + cov_b.trace()).item() - 2 * root.trace()
    assert gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-8)


def bars(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Digit-like synthetic images: label k is a bright bar in row band k, with noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat(n // 10)
    x = torch.rand(len(labels), 1, 32, 32, generator=generator) * 0.4 - 1
    for i, k in enumerate(labels.tolist()):
        x[i, 0, 3 * k + 1 : 3 * k + 3, 4:28] = 1
    return x, labels


def test_the_classifier_learns_a_tiny_synthetic_set():
    torch.manual_seed(0)
    x, y = bars(200, 0)
    classifier = train_classifier(x, y, epochs=4, batch_size=20, log=lambda line: None)
    x_test, y_test = bars(100, 1)
    predicted, features = predict(classifier, x_test, batch_size=30)
    assert features.shape == (100, 128) and features.dtype == torch.float64
    assert (predicted == y_test).double().mean() >= 0.9


def test_accuracy_per_label():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 0, 0])
    assert accuracy_per_label(predicted, labels, classes=3).tolist() == [0.5, 1.0, 0.0]
