"""Additive natural cubic spline regression (a GAM-like metamodel), with bootstrap weights, in NumPy only.

Used to estimate conditional expectations ``g(theta) = E[Y | theta]`` from a Monte Carlo run's own draws (no nested
loop): the value of partial perfect information (:mod:`simulator.decision.voi`) and the share of the prior space
where the ranking flips (:mod:`simulator.decision.robustness`).

Notes
-----
Natural cubic spline of one variable with knots ``xi_1 < ... < xi_K`` (Hastie, Tibshirani and Friedman, *The
Elements of Statistical Learning*, 2nd ed., eqs. 5.4-5.5): ``N_1(x) = 1``, ``N_2(x) = x``,
``N_{k+2}(x) = d_k(x) - d_{K-1}(x)`` for ``k = 1..K-2``, with
``d_k(x) = ((x - xi_k)_+^3 - (x - xi_K)_+^3) / (xi_K - xi_k)``. It is cubic between the knots and linear beyond the
boundary knots (so the tails of a prior do not make it swing). The knots are the quantiles
``(0.01, ..., 0.99)`` of the draws, equally spaced in probability (ESL 5.2.1 puts the boundary knots nearer the
middle; a curved response forced linear over the outer 10% of the draws biases the fit in the bulk: for
``E[(0.9 - theta^2)^+]``, ``theta ~ N(0, 1)``, 7 knots at 5-95% overstate it by 2.5%, at 1-99% by 0.1%), ``x``
standardised by its median and interquartile range first. A variable with fewer than 3 distinct knots enters linearly.

Additive model of several variables: ``g(theta) = b_0 + sum_j sum_k b_jk N_k(theta_j)`` (no interactions), fitted by
weighted least squares ``b = argmin sum_i w_i (y_i - B_i b)^2``, ``B`` the design with a column of ones; with the
intercept, ``sum_i w_i g(theta_i) = sum_i w_i y_i``. Bootstrap weights ``w_i`` are the counts of path ``i`` in a
resample of the ``n`` paths with replacement, so a resample's fit and its statistics are weighted sums over the
original paths (no copies of the data).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def knots_of(x: np.ndarray, count: int) -> np.ndarray:
    """``count`` knots at the quantiles ``linspace(0.01, 0.99, count)`` of ``x`` (duplicates removed)."""
    return np.unique(np.quantile(np.asarray(x, float), np.linspace(0.01, 0.99, count)))


def natural_cubic_basis(x: np.ndarray, count: int = 7) -> np.ndarray:
    """``(n, K-1)`` natural cubic spline basis of ``x`` without the constant (``N_2..N_K``, see module Notes).

    ``x`` is standardised by its median and interquartile range (or range, or 1) first; with fewer than 3 distinct
    knots the basis is ``x`` alone (linear).
    """
    x = np.asarray(x, float)
    q25, q50, q75 = np.quantile(x, (0.25, 0.5, 0.75))
    scale = q75 - q25 if q75 > q25 else (np.ptp(x) or 1.0)
    x = (x - q50) / scale
    xi = knots_of(x, count)
    if xi.size < 3:
        return x[:, None]

    def d(k: int) -> np.ndarray:
        return (np.maximum(x - xi[k], 0.0) ** 3 - np.maximum(x - xi[-1], 0.0) ** 3) / (xi[-1] - xi[k])

    last = d(xi.size - 2)
    return np.column_stack([x, *(d(k) - last for k in range(xi.size - 2))])


def additive_basis(columns: Sequence[np.ndarray], count: int = 7) -> np.ndarray:
    """Design ``(n, 1 + sum_j (K_j - 1))`` of the additive model: a column of ones, then each variable's basis."""
    n = len(columns[0]) if len(columns) else 0
    parts = [np.ones((n, 1))] + [natural_cubic_basis(c, count) for c in columns]
    return np.column_stack(parts)


def fit(design: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Fitted values of the weighted least squares fits of each row of ``y`` ``(m, n)`` on ``design`` ``(n, p)``,
    one fit per row of ``weights`` ``(B, n)`` (default: one fit, weights 1); returns ``(B, m, n)``.

    Solves the normal equations ``(B' W B) b = B' W y`` with the columns scaled to unit RMS and a ridge of ``1e-9``
    of the mean diagonal (it keeps a collinear design solvable). Small designs are fitted for every row of
    ``weights`` at once (``W (B, n) @ [B_ik B_il]_i (n, p^2)``, one matrix product); a wide one row by row, so
    that memory stays ``O(n p + p^2)``.
    """
    design, y = np.asarray(design, float), np.atleast_2d(np.asarray(y, float))
    weights = np.ones((1, len(design))) if weights is None else np.atleast_2d(np.asarray(weights, float))
    scale = np.sqrt(np.mean(design**2, axis=0))
    b = design / np.where(scale > 0, scale, 1.0)
    n, p = b.shape
    if n * p * p <= 2**22:  # batched: the (n, p^2) products fit in 32 MiB
        gram = (weights @ (b[:, :, None] * b[:, None, :]).reshape(n, p * p)).reshape(-1, p, p)
        rhs = (weights @ (b[:, :, None] * y.T[:, None, :]).reshape(n, -1)).reshape(-1, p, len(y))
    else:
        gram = np.stack([(b * w[:, None]).T @ b for w in weights])
        rhs = np.stack([(b * w[:, None]).T @ y.T for w in weights])
    ridge = 1e-9 * np.trace(gram, axis1=1, axis2=2)[:, None, None] / p * np.eye(p)
    coefficients = np.linalg.solve(gram + ridge, rhs)  # (B, p, m)
    return np.swapaxes(coefficients, 1, 2) @ b.T


def bootstrap_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, n)`` counts: how often each path appears in each resample of the ``n`` paths with
    replacement (multinomial, total ``n``)."""
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)
