"""The weighted logistic regression that fits an index's confidence (calibration.py): ridge on
standardized features, an optional pull toward a prior, optional non-negative weights, solved
by damped Newton steps (three or four weights: no library solver needed)."""

from __future__ import annotations

import numpy as np

RIDGE = 1e-3  # on standardized features: keeps separable data (near-duplicate FAQs) finite


def fit(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    prior: np.ndarray | None = None,
    strength: float = 0.0,
    nonnegative: np.ndarray | None = None,
) -> np.ndarray:
    """Weights and bias of a weighted, ridge-regularized logistic regression on standardized
    features, returned in the features' own units; with a `prior` (weights and bias, in those
    units), shrunk toward it by `strength` (the example weights sum to 1). The weights of the
    features `nonnegative` marks are kept >= 0 (confidence's per-candidate ones: a negative one
    would let a lower candidate outrank a higher one)."""
    mean, scale = x.mean(0), np.maximum(x.std(0), 1e-6)
    z = (x - mean) / scale
    center = np.zeros(x.shape[1] + 1) if prior is None else np.r_[prior[:-1] * scale, prior[-1] + prior[:-1] @ mean]
    free = x.std(0) > 1e-9  # a constant feature (no background) carries nothing to fit
    kept_up = np.zeros(x.shape[1], dtype=bool) if nonnegative is None else nonnegative[: x.shape[1]]
    while True:
        keep = np.r_[free, True]
        w = _newton(np.c_[z[:, free], np.ones(len(z))], y, weight, center[keep], strength)
        weights = np.zeros(z.shape[1])
        weights[free] = w[:-1]
        negative = kept_up & (weights < 0)
        if not negative.any():
            break
        free &= ~negative
    raw = weights / scale
    return np.r_[raw, w[-1] - raw @ mean]


def _newton(
    design: np.ndarray, y: np.ndarray, weight: np.ndarray, center: np.ndarray, strength: float, steps: int = 50
) -> np.ndarray:
    """Minimize the weighted logistic loss plus the ridge and the pull toward `center` by Newton
    steps, each halved until it decreases the objective (Armijo): a full step from the prior
    overshoots where the sample is nearly separable, and plain Newton ran away there (weights in
    the thousands on clinc150 with all its phrasings: every question answered). Where full steps
    decrease it, as they did on every FAQ whose fit converged, the steps are the same."""
    ridge = RIDGE * np.r_[np.ones(design.shape[1] - 1), 0.0]  # the bias is not shrunk toward 0

    def objective(w: np.ndarray) -> float:
        z = design @ w
        loss = weight @ (np.logaddexp(0.0, z) - y * z)
        return float(loss + ridge @ w**2 / 2 + strength * np.sum((w - center) ** 2) / 2)

    w = center.copy()
    value = objective(w)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(design @ w, -50, 50)))
        gradient = design.T @ (weight * (p - y)) + ridge * w + strength * (w - center)
        hessian = (design * (weight * p * (1 - p))[:, None]).T @ design + np.diag(ridge + strength)
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        length, slope = 1.0, float(gradient @ step)
        while (new_value := objective(w - length * step)) > value - 1e-4 * length * slope:
            length /= 2
            if length < 1e-10:
                return w  # no step decreases it: the optimum, to rounding
        w, value = w - length * step, new_value
        if np.abs(length * step).max() < 1e-9:
            break
    return w
