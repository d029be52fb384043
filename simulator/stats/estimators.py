"""Estimators with their Monte Carlo standard errors: the one home of ``z``, the SE of a mean and the noise rule.

Notes
-----
* ``z(c) = Phi^-1((1 + c) / 2)``, the two-sided normal quantile for confidence ``c`` (1.96 at 0.95);
* the standard error of a mean of ``n`` independent values with sample standard deviation ``s`` is ``s / sqrt(n)``;
* a difference ``d`` with standard error ``se`` is *within noise* at confidence ``c`` when ``|d| <= z(c) se``
  (a difference that is exactly zero is always within noise).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def z_value(confidence: float) -> float:
    """Two-sided normal quantile ``Phi^-1((1 + confidence) / 2)``."""
    return float(stats.norm.ppf(0.5 * (1.0 + confidence)))


def se_of_mean(x: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Standard error of the mean ``s / sqrt(n)`` (``s`` with ``ddof=1``); NaN for fewer than two values."""
    x = np.asarray(x, dtype=float)
    n = x.size if axis is None else x.shape[axis]
    if n < 2:
        return np.full(np.delete(x.shape, axis) if axis is not None else (), np.nan)[()]
    return np.std(x, axis=axis, ddof=1) / np.sqrt(n)


def se_from_variance(variance: np.ndarray | float, n: int) -> np.ndarray | float:
    """Standard error of a mean from the (sample) variance of ``n`` values: ``sqrt(variance / n)``."""
    return np.sqrt(np.asarray(variance, dtype=float) / n)[()]


def within_noise(difference: np.ndarray | float, se: np.ndarray | float, confidence: float) -> np.ndarray | bool:
    """``|difference| <= z(confidence) * se``: the difference cannot be told from zero at that confidence."""
    difference, se = np.asarray(difference, dtype=float), np.asarray(se, dtype=float)
    return (np.abs(difference) <= z_value(confidence) * se) | (difference == 0.0)
