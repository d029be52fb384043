"""Running reductions over path chunks: exact moments and a mergeable quantile sketch, both in float64.

A run of any path count keeps memory flat by folding each chunk of paths into these accumulators and dropping the
chunk. Both merge exactly: folding chunks in any grouping gives the same statistics up to float64 rounding.

Notes
-----
**Moments** (Chan, Golub and LeVeque 1983): a chunk ``b`` of ``n_b`` values with mean ``m_b`` and centred sum of
squares ``M2_b = sum (x - m_b)^2`` merges into ``a`` as ``n = n_a + n_b``, ``delta = m_b - m_a``,
``m = m_a + delta n_b / n``, ``M2 = M2_a + M2_b + delta^2 n_a n_b / n``; the sample variance is ``M2 / (n - 1)``.
Unlike running sums of ``x`` and ``x^2`` this does not cancel catastrophically for costs of ~1e7 USD.
**Co-moments** of two variables merge the same way: ``C = sum (x - m_x)(y - m_y)``,
``C = C_a + C_b + delta_x delta_y n_a n_b / n``; the sample covariance is ``C / (n - 1)``.

**Quantile sketch** (DDSketch's logarithmic mapping, Masson, Rim and Lee, VLDB 2019): with relative accuracy
``alpha`` and ``gamma = (1 + alpha) / (1 - alpha)``, a value ``x > 0`` falls in bucket ``i = ceil(log_gamma x)``,
covering ``(gamma^(i-1), gamma^i]``; negative values use a mirrored store and ``|x| < min_value`` a zero bucket.
The bucket's representative ``2 gamma^i / (gamma + 1)`` is within ``alpha |x|`` of every value in it, so the value
the sketch returns for the ``k``-th smallest path (0-based rank) satisfies ``|x_hat - x_(k)| <= alpha |x_(k)|``
for values inside ``[min_value, max_value]``; values with ``|x| < min_value`` are reported as 0 (absolute error
below ``min_value``) and larger than ``max_value`` are clamped to the last bucket and counted in ``clamped``. Counts are integers, so merging two sketches (adding counts) is exact.
Reading quantiles and CVaR back from the counts is :class:`simulator.stats.samples.SketchSample`.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class Moments:
    """Count, mean and centred sum of squares ``M2`` of values with trailing shape ``mean.shape`` (float64)."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> Moments:
        return cls(0, np.zeros(shape), np.zeros(shape))

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        """Moments of a chunk ``x`` of shape ``(n, *shape)`` (paths first)."""
        x = np.asarray(x, np.float64)
        mean = x.mean(axis=0)
        return cls(x.shape[0], mean, ((x - mean) ** 2).sum(axis=0))

    def merge(self, other: Moments) -> Moments:
        """Chan's pairwise update (see module Notes)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / n)
        return Moments(n, mean, m2)

    @property
    def variance(self) -> np.ndarray:
        """Sample variance ``M2 / (n - 1)`` (NaN for fewer than two values)."""
        return self.m2 / (self.count - 1) if self.count > 1 else np.full_like(self.mean, np.nan)


@dataclasses.dataclass
class CoMoments:
    """Count, means and centred co-moment ``C = sum (x - m_x)(y - m_y)`` of paired values (float64, see module Notes).

    Used for the covariance a ratio estimator's delta-method SE needs (:func:`simulator.stats.estimators.ratio_and_se`).
    """

    count: int
    mean_x: np.ndarray
    mean_y: np.ndarray
    c: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> CoMoments:
        return cls(0, np.zeros(shape), np.zeros(shape), np.zeros(shape))

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> CoMoments:
        """Co-moments of paired chunks ``x``, ``y`` of shape ``(n, *shape)`` (paths first)."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        mx, my = x.mean(axis=0), y.mean(axis=0)
        return cls(x.shape[0], mx, my, ((x - mx) * (y - my)).sum(axis=0))

    def merge(self, other: CoMoments) -> CoMoments:
        """Chan's pairwise update of the co-moment (see module Notes)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        dx, dy = other.mean_x - self.mean_x, other.mean_y - self.mean_y
        c = self.c + other.c + dx * dy * (self.count * other.count / n)
        return CoMoments(n, self.mean_x + dx * (other.count / n), self.mean_y + dy * (other.count / n), c)

    @property
    def covariance(self) -> np.ndarray:
        """Sample covariance ``C / (n - 1)`` (NaN for fewer than two pairs)."""
        return self.c / (self.count - 1) if self.count > 1 else np.full_like(self.c, np.nan)


@dataclasses.dataclass
class LogSketch:
    """DDSketch-style log-bucket histograms for ``columns`` variables at once (see module Notes).

    ``counts`` has shape ``(columns, 2 * buckets + 1)``: negative buckets (largest magnitude first), the zero bucket,
    then positive buckets (smallest first), so a cumulative sum along the last axis follows the value order.
    """

    relative_accuracy: float
    min_value: float
    max_value: float
    counts: np.ndarray
    clamped: np.ndarray  # per column: values above max_value in magnitude (the bound does not hold for them)
    exact_merge = True  # counts add: merging in any order gives the same bits (simulator.stats.collector.ChunkLog)

    @classmethod
    def empty(cls, columns: int, relative_accuracy: float = 1e-3, min_value: float = 1e-6,
              max_value: float = 1e15) -> LogSketch:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), not {relative_accuracy}")
        sketch = cls(relative_accuracy, min_value, max_value, np.zeros((columns, 0), np.int64),
                     np.zeros(columns, np.int64))
        sketch.counts = np.zeros((columns, 2 * sketch.buckets + 1), np.int64)
        return sketch

    @property
    def log_gamma(self) -> float:
        a = self.relative_accuracy
        return float(np.log1p(2 * a / (1 - a)))  # log((1 + a) / (1 - a))

    @property
    def offset(self) -> int:
        return int(np.ceil(np.log(self.min_value) / self.log_gamma))

    @property
    def buckets(self) -> int:
        return int(np.ceil(np.log(self.max_value) / self.log_gamma)) - self.offset + 1

    def representatives(self) -> np.ndarray:
        """Value reported for each bucket, in bucket order: ``-r_i`` (descending ``i``), 0, ``r_i``."""
        index = np.arange(self.buckets) + self.offset
        gamma = np.exp(self.log_gamma)
        positive = 2.0 * np.exp(index * self.log_gamma) / (gamma + 1.0)
        return np.concatenate([-positive[::-1], [0.0], positive])

    def add(self, x: np.ndarray) -> None:
        """Fold a chunk ``x`` of shape ``(n, columns)`` into the counts."""
        x = np.asarray(x, np.float64).reshape(x.shape[0], -1)
        n, columns = x.shape
        magnitude = np.abs(x)
        self.clamped += (magnitude > self.max_value).sum(axis=0)
        with np.errstate(divide="ignore"):
            index = np.ceil(np.log(np.maximum(magnitude, self.min_value)) / self.log_gamma) - self.offset
        index = np.clip(index, 0, self.buckets - 1).astype(np.int64)
        position = np.where(magnitude < self.min_value, self.buckets,
                            np.where(x > 0, self.buckets + 1 + index, self.buckets - 1 - index))
        flat = position + np.arange(columns) * self.counts.shape[1]
        self.counts += np.bincount(flat.ravel(), minlength=self.counts.size).reshape(self.counts.shape)

    def merge(self, other: LogSketch) -> LogSketch:
        """Exact merge (counts add); both sketches must share accuracy and range."""
        if (other.relative_accuracy, other.min_value, other.max_value) != (
            self.relative_accuracy, self.min_value, self.max_value
        ):
            raise ValueError("sketches with different accuracy or range cannot be merged")
        return dataclasses.replace(self, counts=self.counts + other.counts, clamped=self.clamped + other.clamped)

