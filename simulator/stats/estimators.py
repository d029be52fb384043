"""Path-level estimators with their Monte Carlo standard errors: the one home of ``z``, the SE of a mean, the noise
rule, and the mean, quantile, CVaR and probability estimators with their influence values.

Notes
-----
For ``n`` independent paths with values ``x_i``:

* ``z(c) = Phi^-1((1 + c) / 2)``, the two-sided normal quantile for confidence ``c`` (1.96 at 0.95);
* mean ``xbar = (1/n) sum x_i`` with standard error ``s / sqrt(n)``, ``s`` the sample standard deviation
  (``ddof=1``); from a variance ``v`` of ``n`` values, ``sqrt(v / n)``;
* a difference ``d`` with standard error ``se`` is *within noise* at confidence ``c`` when ``|d| <= z(c) se``
  (a difference that is exactly zero is always within noise);
* a probability ``p_hat = (1/n) sum 1[event_i]`` with standard error ``sqrt(p_hat (1 - p_hat) / n)``;
* a ratio of means ``R = xbar / ybar`` (e.g. spend per delivered GPU-hour) on paired values: the delta method gives
  ``SE(R) = sqrt(var(x_i - R y_i) / n) / |ybar|``, with ``var(x - R y) = var(x) - 2 R cov(x, y) + R^2 var(y)``, so
  it needs only the two variances and the covariance (exact moments of a streamed run serve as well as the paths);
* quantile ``q_p``: the empirical ``p``-quantile; its standard error is estimated by the order-statistic interval:
  ranks ``n p +- sqrt(n p (1 - p))`` bound a ~68% interval, half its width is the SE;
* a distribution-free confidence interval for ``q_p`` at confidence ``1 - a``: the order statistics
  ``(x_(l), x_(u))`` with ``l = F^-1_B(a/2)`` and ``u = F^-1_B(1 - a/2) + 1``, ``B ~ Binomial(n, p)``, so that
  ``P(x_(l) <= q_p <= x_(u)) = P(l <= B < u) >= 1 - a`` whatever the distribution;
* value at risk ``VaR_a = q_a`` (the cost exceeded with probability ``1 - a``), its SE as for a quantile;
* conditional value at risk (expected shortfall, Rockafellar-Uryasev)
  ``CVaR_a = (1/n) sum z_i``, ``z_i = VaR_a + (x_i - VaR_a)^+ / (1 - a)``; its SE is ``sd(z) / sqrt(n)``, the
  delta-method (influence-function) variance of the estimator, which does not depend on the error in ``VaR_a``
  to first order (Hong and Liu 2009; Trindade et al. 2007).

The quantile, CI and CVaR estimators read their values through :class:`simulator.stats.samples.OrderedSample`
(order statistic at rank ``k``, quantile, tail mean), so the same formulas serve every path kept
(:class:`~simulator.stats.samples.Sample`) and a streamed sketch (:class:`~simulator.stats.samples.SketchSample`).

Every objective (mean, quantile, CVaR) also has per-path *influence values* ``psi_i`` whose mean is the estimate and
whose ``sd / sqrt(n)`` is its SE: ``psi_i = x_i`` (mean), ``z_i`` (CVaR) and
``q_p + s (p - 1[x_i <= q_p])`` (quantile), with the sparsity ``s = 1 / f(q_p)`` estimated by the difference
quotient ``s = (q_{p+h} - q_{p-h}) / (2h)`` at the Hall-Sheather bandwidth
``h = n^(-1/3) z^(2/3) (1.5 phi(Phi^-1(p))^2 / (2 Phi^-1(p)^2 + 1))^(1/3)``, ``z = 1.96`` (Koenker 2005, 3.4). The
SE of a difference between two strategies is then ``sd(psi^A - psi^B) / sqrt(n)``, computed pathwise: the common
random numbers make it much smaller than the SEs of the two estimates combined as if independent.

**Sampling design.** The formulas above are for independent paths (``engine.sampling=mc``). With ``qmc`` every SE is
the SE of the mean of the same per-path values (``x_i``, ``1[event_i]``, ``psi_i``) computed as the spread of the
``R`` scramble means, ``sd_r(mean_r) / sqrt(R)`` (:mod:`simulator.stats.replicates`): a :class:`Sample` carries the
per-path ``groups`` (scrambles) and :func:`se_of_mean` takes them. A streamed run's sketch carries its mean's SE from
per-scramble sums (``mean_se``) and, for a quantile or CVaR, the kept paths (``kept``): their replicate SE scaled by
``sqrt(m / n)``, which overstates the SE since a QMC variance falls at least as fast as ``1 / n``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from simulator.stats.replicates import design_se
from simulator.stats.samples import OrderedSample, as_sample, tail_values

OBJECTIVES = ("mean", "quantile", "cvar")


def z_value(confidence: float) -> float:
    """Two-sided normal quantile ``Phi^-1((1 + confidence) / 2)``."""
    return float(stats.norm.ppf(0.5 * (1.0 + confidence)))


def se_of_mean(x: np.ndarray, axis: int | None = None, groups: np.ndarray | None = None) -> np.ndarray | float:
    """Standard error of the mean ``s / sqrt(n)`` (``s`` with ``ddof=1``); NaN for fewer than two values. With the
    per-path scrambles ``groups`` of a ``qmc`` run (along ``axis``), ``sd_r(mean_r) / sqrt(R)`` instead."""
    return design_se(x, groups, axis)


def _design_se(sample: OrderedSample, objective: str, level: float) -> float | None:
    """The SE of an objective under ``engine.sampling=qmc`` (module Notes), None for independent paths."""
    groups = getattr(sample, "groups", None)
    if groups is not None:
        return float(se_of_mean(objective_influence(sample.values, objective, level), groups=groups))
    if objective == "mean" and getattr(sample, "mean_se", None) is not None:
        return float(sample.mean_se)
    kept = getattr(sample, "kept", None)
    if kept is not None and kept.n > 1:
        return _design_se(kept, objective, level) * float(np.sqrt(kept.n / sample.n))
    return None


def se_from_variance(variance: np.ndarray | float, n: int) -> np.ndarray | float:
    """Standard error of a mean from the (sample) variance of ``n`` values: ``sqrt(variance / n)``."""
    return np.sqrt(np.asarray(variance, dtype=float) / n)[()]


def within_noise(difference: np.ndarray | float, se: np.ndarray | float, confidence: float) -> np.ndarray | bool:
    """``|difference| <= z(confidence) * se``: the difference cannot be told from zero at that confidence."""
    difference, se = np.asarray(difference, dtype=float), np.asarray(se, dtype=float)
    return (np.abs(difference) <= z_value(confidence) * se) | (difference == 0.0)


def some_run_late(lateness_days: np.ndarray) -> np.ndarray:
    """Per path: some named training run finished after its deadline, ``any_r lateness_r > 0`` over the last axis
    (``False`` when there are no runs)."""
    return (np.asarray(lateness_days) > 0).any(axis=-1)


def mean_and_se(x: np.ndarray | OrderedSample) -> tuple[float, float]:
    """Sample mean and its standard error ``s / sqrt(n)`` (NaN for fewer than two values)."""
    sample = as_sample(x)
    se = float(se_from_variance(sample.variance, sample.n)) if sample.n > 1 else float("nan")
    design = _design_se(sample, "mean", 0.0)
    return float(sample.mean), se if design is None else design


def ratio_and_se(
    mean_x: float, mean_y: float, var_x: float, var_y: float, cov_xy: float, n: int
) -> tuple[float, float]:
    """Ratio of means ``R = mean_x / mean_y`` of ``n`` paired values and its delta-method SE (see module Notes).

    ``R`` and its SE are NaN when ``mean_y`` is 0 or NaN (nothing delivered, or not recorded); the residual variance
    is clipped at 0 against float rounding.
    """
    if not np.isfinite(mean_y) or mean_y == 0.0:
        return float("nan"), float("nan")
    ratio = mean_x / mean_y
    residual = max(var_x - 2.0 * ratio * cov_xy + ratio**2 * var_y, 0.0)
    se = float(np.sqrt(residual / n) / abs(mean_y)) if n > 1 else float("nan")
    return float(ratio), se


def probability_se(p: float, n: int) -> float:
    """Binomial standard error ``sqrt(p (1 - p) / n)`` of a fraction ``p`` of ``n`` paths."""
    return float(np.sqrt(p * (1.0 - p) / n))


def probability_and_se(event: np.ndarray) -> tuple[float, float]:
    """Fraction of paths where ``event`` holds and its binomial standard error."""
    p = float(np.mean(event))
    return p, probability_se(p, np.size(event))


def quantile_and_se(x: np.ndarray | OrderedSample, p: float) -> tuple[float, float]:
    """Empirical ``p``-quantile and its order-statistic standard error (half the ~68% rank interval)."""
    sample = as_sample(x)
    n = sample.n
    half_width = np.sqrt(n * p * (1.0 - p))
    lo, hi = sample.at_rank(np.array([np.floor(n * p - half_width), np.ceil(n * p + half_width)]))
    design = _design_se(sample, "quantile", p)
    return float(sample.quantile(p)), float(0.5 * (hi - lo)) if design is None else design


def quantile_ci(x: np.ndarray | OrderedSample, p: float, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval of the ``p``-quantile from order statistics (see module Notes)."""
    sample = as_sample(x)
    n = sample.n
    tail = 0.5 * (1.0 - confidence)
    lower = max(int(stats.binom.ppf(tail, n, p)), 1)  # 1-based rank l
    upper = min(int(stats.binom.ppf(1.0 - tail, n, p)) + 1, n)  # 1-based rank u
    lo, hi = sample.at_rank(np.array([lower - 1, upper - 1]))
    return float(lo), float(hi)


def cvar_and_se(x: np.ndarray | OrderedSample, level: float) -> tuple[float, float]:
    """Conditional value at risk ``CVaR_level`` (mean of the worst ``1 - level`` tail) and its SE ``sd(z) / sqrt(n)``."""
    sample = as_sample(x)
    value, sd = sample.tail_mean(level)
    design = _design_se(sample, "cvar", level)
    if design is not None:
        return float(value), design
    return float(value), float(sd / np.sqrt(sample.n)) if sample.n > 1 else float("nan")


def objective_value_and_se(x: np.ndarray | OrderedSample, objective: str, level: float) -> tuple[float, float]:
    """An objective's estimate and standard error: mean, ``level``-quantile (order statistics) or CVaR."""
    if objective == "mean":
        return mean_and_se(x)
    if objective == "quantile":
        return quantile_and_se(x, level)
    if objective == "cvar":
        return cvar_and_se(x, level)
    raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")


def objective_influence(x: np.ndarray, objective: str, level: float) -> np.ndarray:
    """Per-path influence values ``psi_i`` of an objective: their mean is the estimate, ``sd/sqrt(n)`` its SE.

    Notes
    -----
    mean: ``psi_i = x_i``; CVaR: ``psi_i = q + (x_i - q)^+ / (1 - level)``; quantile:
    ``psi_i = q + s (level - 1[x_i <= q])`` with the Hall-Sheather sparsity ``s`` of :func:`sparsity`. Its wide
    window (about ``n^(2/3)`` ranks) keeps ``s`` precise, which matters for a paired difference: noise in ``s_A - s_B``
    would inflate the SE of ``q_A - q_B`` when the two are strongly correlated.
    """
    x = np.asarray(x, float)
    if objective == "mean":
        return x
    q = float(np.quantile(x, level))
    if objective == "cvar":
        return tail_values(x, q, level)
    if objective == "quantile":
        return q + sparsity(x, level) * (level - (x <= q))
    raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")


def sparsity(x: np.ndarray, p: float) -> float:
    """``1 / f(q_p)`` by the difference quotient of empirical quantiles at the Hall-Sheather bandwidth."""
    n = x.size
    zp = stats.norm.ppf(p)
    h = n ** (-1 / 3) * z_value(0.95) ** (2 / 3) * (1.5 * stats.norm.pdf(zp) ** 2 / (2 * zp**2 + 1)) ** (1 / 3)
    lo, hi = max(p - h, 0.5 / n), min(p + h, 1 - 0.5 / n)
    q_lo, q_hi = np.quantile(x, [lo, hi])
    return float((q_hi - q_lo) / (hi - lo)) if hi > lo else 0.0


def influence_difference(x_b: np.ndarray, x_a: np.ndarray, objective: str, level: float) -> np.ndarray:
    """Per-path ``psi^b_i - psi^a_i`` of two strategies on the same paths: ``sd / sqrt(n)`` is the SE of
    ``J(b) - J(a)`` on the common random numbers (see module Notes)."""
    return objective_influence(x_b, objective, level) - objective_influence(x_a, objective, level)


def difference_and_se(x_b: np.ndarray, x_a: np.ndarray, objective: str, level: float,
                      groups: np.ndarray | None = None) -> tuple[float, float]:
    """``J(b) - J(a)`` and its pathwise SE ``sd(psi^b - psi^a) / sqrt(n)`` (common random numbers; the replicate SE
    with a ``qmc`` run's ``groups``)."""
    value = objective_value_and_se(x_b, objective, level)[0] - objective_value_and_se(x_a, objective, level)[0]
    return float(value), float(se_of_mean(influence_difference(x_b, x_a, objective, level), groups=groups))
