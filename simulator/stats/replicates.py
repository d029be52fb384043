"""Standard errors under the run's sampling design: independent paths (``mc``) or ``R`` scrambled replicates (``qmc``).

Every SE of the estimators is the SE of a mean of per-path values (the values themselves, 0/1 indicators, or the
influence values of a quantile, CVaR, ratio or difference: :mod:`simulator.stats.estimators`). This module is the one
place that knows how the paths were drawn; ``groups`` is the per-path scramble (None for independent paths).

Notes
-----
* ``mc``: ``SE = s / sqrt(n)``, ``s`` the sample SD (``ddof=1``).
* ``qmc`` (:mod:`simulator.engine.qmc`): path ``i`` is a point of scramble ``r = i mod R``; the points of one scramble
  are dependent (that is the point of QMC), the ``R`` scrambles are independent and identically distributed. With
  ``mean_r`` the mean of scramble ``r``'s values, the estimate is ``xbar = sum_r n_r mean_r / n`` and
  ``SE = sd_r(mean_r) / sqrt(R)`` (sample SD over the ``R`` scrambles, ``ddof=1``): the textbook randomised-QMC
  error estimate (Owen, *Monte Carlo theory, methods and examples*, 17.2; L'Ecuyer 2018). It has ``R - 1`` degrees
  of freedom, so it is itself uncertain by about ``1 / sqrt(2 (R - 1))`` relative (18% at ``R = 16``). Unequal
  ``n_r`` (a path count that is not a multiple of ``R``) differ by one path and are ignored in the SE.
"""

from __future__ import annotations

import numpy as np


def path_groups(path_ids: np.ndarray, scrambles: int | None) -> np.ndarray | None:
    """The scramble of every path index, ``i mod R``; None without replicates (``mc``)."""
    return None if not scrambles else np.asarray(path_ids, np.int64) % int(scrambles)


def group_means(x: np.ndarray, groups: np.ndarray, axis: int = -1) -> np.ndarray:
    """Means of ``x`` over each group's paths along ``axis`` (the paths axis), groups first: ``(R, ...)``."""
    x = np.moveaxis(np.asarray(x, float), axis, -1)
    groups = np.asarray(groups)
    labels = np.unique(groups)
    return np.stack([x[..., groups == g].mean(axis=-1) for g in labels])


def se_of_replicates(means: np.ndarray) -> np.ndarray | float:
    """``sd_r(mean_r) / sqrt(R)`` of replicate estimates (first axis); NaN for fewer than two replicates."""
    means = np.asarray(means, float)
    r = means.shape[0]
    if r < 2:
        return np.full(means.shape[1:], np.nan)[()]
    return (np.std(means, axis=0, ddof=1) / np.sqrt(r))[()]


def design_se(x: np.ndarray, groups: np.ndarray | None, axis: int | None = None) -> np.ndarray | float:
    """SE of the mean of per-path values ``x`` along ``axis`` (None: all of ``x``, flattened) under the design.

    ``groups`` None: ``s / sqrt(n)``; else ``sd_r(mean_r) / sqrt(R)`` (module Notes). NaN for fewer than two values
    (two replicates).
    """
    x = np.asarray(x, float)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if groups is None:
        n = x.shape[axis]
        if n < 2:
            return np.full(np.delete(x.shape, axis), np.nan)[()]
        return (np.std(x, axis=axis, ddof=1) / np.sqrt(n))[()]
    return se_of_replicates(group_means(x, groups, axis))


def streamed_se(sums: np.ndarray, paths: np.ndarray) -> np.ndarray | float:
    """``sd_r(mean_r) / sqrt(R)`` from per-scramble sums ``(R, ...)`` and path counts ``(R,)`` of a streamed run
    (scrambles without paths are left out)."""
    sums, paths = np.asarray(sums, float), np.asarray(paths, float)
    used = paths > 0
    means = sums[used] / paths[used].reshape((-1,) + (1,) * (sums.ndim - 1))
    return se_of_replicates(means)
