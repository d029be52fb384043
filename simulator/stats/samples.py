"""What the estimators read from a distribution: count, mean, variance, the order statistic at rank ``k``, a
quantile and the tail mean. Two implementations, so every estimator is written once for both:

* :class:`Sample`, the exact values of every path;
* :class:`SketchSample`, a streamed run's exact moments plus a DDSketch histogram
  (:class:`simulator.stats.accumulators.LogSketch`) for the order statistics.

Notes
-----
The tail values of a level ``a`` are ``z_i = q + (x_i - q)^+ / (1 - a)`` (Rockafellar-Uryasev), ``q`` the
``a``-quantile; their mean is ``CVaR_a`` and their SD gives its SE (:func:`simulator.stats.estimators.cvar_and_se`).

From a sketch with relative accuracy ``alpha``, the value read for the ``k``-th smallest path (0-based) is within
``alpha |x_(k)|`` of it; the quantile is ``x_(k)`` with ``k = floor(p (n - 1))`` (numpy's ``method="lower"``), and the
CVaR replaces every value by its bucket representative: for nonnegative values its error is at most
``alpha (T + 2 |q|) <= 3 alpha CVaR_a``, ``T = sum_{x_i > q} x_i / (n (1 - a))``, since each representative is within
``alpha x_i`` of its value and ``q`` within ``alpha |q|``.
"""

from __future__ import annotations

import functools
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class OrderedSample(Protocol):
    """A distribution of ``n`` path values, read by the estimators of :mod:`simulator.stats.estimators`."""

    n: int
    mean: float
    variance: float  # sample variance (ddof=1)

    def at_rank(self, rank: np.ndarray) -> np.ndarray:
        """The order statistics of 0-based ranks ``rank`` (clipped to ``[0, n - 1]``)."""
        ...

    def quantile(self, p: float) -> float:
        """The ``p``-quantile."""
        ...

    def tail_mean(self, level: float) -> tuple[float, float]:
        """``CVaR_level`` and the SD of its tail values ``z_i`` (see module Notes)."""
        ...


def tail_values(x: np.ndarray, q: float, level: float) -> np.ndarray:
    """Rockafellar-Uryasev tail values ``z_i = q + (x_i - q)^+ / (1 - level)``: their mean is ``CVaR_level``."""
    return q + np.maximum(np.asarray(x, float) - q, 0.0) / (1.0 - level)


class Sample:
    """Every path's value: exact order statistics, numpy's interpolated quantiles. ``groups``: each path's scramble in
    a ``qmc`` run (the estimators' SEs are then the spread between scrambles), None for independent paths."""

    def __init__(self, x: np.ndarray, groups: np.ndarray | None = None):
        self.groups = groups
        self.values = np.asarray(x, float)
        self.n = self.values.size
        self.mean = float(np.mean(self.values))
        self.variance = float(np.var(self.values, ddof=1)) if self.n > 1 else float("nan")

    @functools.cached_property
    def ordered(self) -> np.ndarray:
        return np.sort(self.values)

    def at_rank(self, rank: np.ndarray) -> np.ndarray:
        return self.ordered[np.clip(np.asarray(rank).astype(np.int64), 0, self.n - 1)]

    def quantile(self, p: float) -> float:
        return float(np.quantile(self.values, p))

    def tail_mean(self, level: float) -> tuple[float, float]:
        z = tail_values(self.values, self.quantile(level), level)
        return float(np.mean(z)), float(np.std(z, ddof=1)) if self.n > 1 else float("nan")


class SketchSample:
    """A streamed distribution: exact moments over all ``n`` paths, order statistics from the sketch's ``counts``
    (per bucket) and ``representatives`` (the value reported for each bucket). Without moments, the sketch's own
    (within ``alpha``) are used. A ``qmc`` run also gives ``mean_se``, the replicate SE of the mean over all paths, and
    ``kept``, the kept paths' :class:`Sample` with their scrambles (for the SE of a quantile or CVaR)."""

    def __init__(self, counts: np.ndarray, representatives: np.ndarray, mean: float | None = None,
                 variance: float | None = None, *, mean_se: float | None = None, kept: Sample | None = None):
        self.mean_se, self.kept = mean_se, kept
        self.counts, self.representatives = np.asarray(counts), np.asarray(representatives, float)
        self.n = int(self.counts.sum())
        sketch_mean = float((self.counts * self.representatives).sum() / max(self.n, 1))
        self.mean = sketch_mean if mean is None else float(mean)
        if variance is None:
            spread = (self.counts * (self.representatives - sketch_mean) ** 2).sum()
            variance = spread / (self.n - 1) if self.n > 1 else float("nan")
        self.variance = float(variance)

    def at_rank(self, rank: np.ndarray) -> np.ndarray:
        return value_at_rank(self.counts, self.representatives, rank)

    def quantile(self, p: float) -> float:
        return sketch_quantile(self.counts, self.representatives, p)

    def tail_mean(self, level: float) -> tuple[float, float]:
        return sketch_tail_mean(self.counts, self.representatives, level)


def as_sample(x: np.ndarray | OrderedSample) -> OrderedSample:
    """``x`` itself if it is an :class:`OrderedSample`, else the :class:`Sample` of its values."""
    return x if isinstance(x, OrderedSample) else Sample(x)


def value_at_rank(counts: np.ndarray, representatives: np.ndarray, rank: np.ndarray | int) -> np.ndarray:
    """Sketch estimate of the ``rank``-th smallest value (0-based) of one column's ``counts``."""
    cumulative = np.cumsum(counts)
    rank = np.clip(np.asarray(rank), 0, cumulative[-1] - 1)
    return representatives[np.searchsorted(cumulative, rank, side="right")]


def sketch_quantile(counts: np.ndarray, representatives: np.ndarray, p: float) -> float:
    """``x_(k)`` with ``k = floor(p (n - 1))`` (numpy's ``method="lower"``), within ``alpha |x_(k)|``."""
    n = int(counts.sum())
    return float(value_at_rank(counts, representatives, int(np.floor(p * (n - 1)))))


def sketch_tail_mean(counts: np.ndarray, representatives: np.ndarray, level: float) -> tuple[float, float]:
    """CVaR (expected shortfall) and the SD of its tail values from a sketch: every value replaced by its bucket's
    representative (the bound is in the module Notes)."""
    n = counts.sum()
    z = tail_values(representatives, sketch_quantile(counts, representatives, level), level)
    mean = float((counts * z).sum() / n)
    variance = float((counts * (z - mean) ** 2).sum() / (n - 1)) if n > 1 else float("nan")
    return mean, float(np.sqrt(variance))
