"""Small statistics for judging observations: least-squares fits and normality summaries.

All functions take plain tensors and compute in float64.
"""

import torch


def fit(y: torch.Tensor, *regressors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Least-squares fit of ``y`` on the regressors, one fit per leading index.

    Shapes: ``y`` and each regressor ``(K, M)``: K independent fits over M values.
    Returns the coefficients ``(K, R)``, their standard errors ``(K, R)`` and the residuals ``(K, M)``.
    """
    y = y.double()
    design = torch.stack([r.double().expand_as(y) for r in regressors], dim=-1)  # (K, M, R)
    gram = design.transpose(1, 2) @ design
    coef = torch.linalg.solve(gram, design.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1)
    residual = y - (design @ coef.unsqueeze(-1)).squeeze(-1)
    dof = max(y.shape[1] - len(regressors), 1)
    scale2 = (residual**2).sum(dim=1) / dof
    stderr = torch.sqrt(torch.diagonal(torch.linalg.inv(gram), dim1=1, dim2=2) * scale2.unsqueeze(-1))
    return coef, stderr, residual


def moments(values: torch.Tensor) -> tuple[float, float, float]:
    """Mean, standard deviation and kurtosis (3 for a normal distribution) of all values."""
    v = values.double().flatten()
    mean = v.mean()
    std = v.std()
    kurtosis = (((v - mean) / std) ** 4).mean() if std > 0 else torch.tensor(float("nan"))
    return float(mean), float(std), float(kurtosis)


def standard_normal_problem(values: torch.Tensor, tolerance: float | None = None) -> str | None:
    """Why ``values`` do not look like independent draws of N(0, 1), or None if they do.

    The default tolerance on mean and standard deviation is eight standard errors
    (at least 0.01), so a correct sampler fails with negligible probability.
    """
    n = values.numel()
    if n < 2:
        return "it holds fewer than two values"
    mean, std, kurtosis = moments(values)
    tol = tolerance if tolerance is not None else max(8 / n**0.5, 0.01)
    if not torch.isfinite(torch.tensor([mean, std])).all():
        return "it holds NaN or infinite values"
    if abs(mean) > tol:
        return f"its mean is {mean:.3g}, not 0"
    if abs(std - 1) > tol:
        return f"its standard deviation is {std:.3g}, not 1"
    if n >= 10_000 and abs(kurtosis - 3) > max(16 * (24 / n) ** 0.5, 0.1):
        return f"its kurtosis is {kurtosis:.3g}, not 3 as for a normal distribution (uniform noise has 1.8)"
    return None


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two equally long sets of values."""
    a = a.double().flatten()
    b = b.double().flatten()
    a = a - a.mean()
    b = b - b.mean()
    denom = torch.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0
