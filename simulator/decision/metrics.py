"""Summary statistics per strategy, each with its Monte Carlo standard error.

Notes
-----
For ``n`` independent paths with values ``x_i``:

* mean ``xbar = (1/n) sum x_i`` with standard error ``s / sqrt(n)``, ``s`` the sample standard deviation;
* quantile ``q_p`` = the empirical ``p``-quantile (linear interpolation); its standard error is estimated by the
  order-statistic interval: ranks ``n p +- sqrt(n p (1 - p))`` bound a ~68% interval, half its width is the SE;
* a probability ``p_hat = (1/n) sum 1[event_i]`` with standard error ``sqrt(p_hat (1 - p_hat) / n)``;
* a distribution-free confidence interval for ``q_p`` at confidence ``1 - a``: the order statistics
  ``(x_(l), x_(u))`` with ``l = F^-1_B(a/2)`` and ``u = F^-1_B(1 - a/2) + 1``, ``B ~ Binomial(n, p)``, so that
  ``P(x_(l) <= q_p <= x_(u)) = P(l <= B < u) >= 1 - a`` whatever the distribution;
* value at risk ``VaR_a = q_a`` (the cost exceeded with probability ``1 - a``), its SE as for a quantile;
* conditional value at risk (expected shortfall, Rockafellar-Uryasev)
  ``CVaR_a = (1/n) sum z_i``, ``z_i = VaR_a + (x_i - VaR_a)^+ / (1 - a)``; its SE is ``sd(z) / sqrt(n)``, the
  delta-method (influence-function) variance of the estimator, which does not depend on the error in ``VaR_a``
  to first order (Hong and Liu 2009; Trindade et al. 2007).

Every objective (mean, quantile, CVaR) also has per-path *influence values* ``psi_i`` whose mean is the estimate and
whose ``sd / sqrt(n)`` is its SE: ``psi_i = x_i`` (mean), ``z_i`` (CVaR) and
``q_p + s (p - 1[x_i <= q_p])`` (quantile), with the sparsity ``s = 1 / f(q_p)`` estimated by the difference
quotient ``s = (q_{p+h} - q_{p-h}) / (2h)`` at the Hall-Sheather bandwidth
``h = n^(-1/3) z^(2/3) (1.5 phi(Phi^-1(p))^2 / (2 Phi^-1(p)^2 + 1))^(1/3)``, ``z = 1.96`` (Koenker 2005, 3.4). The
SE of a difference between two strategies is then
``sd(psi^A - psi^B) / sqrt(n)``, computed pathwise: the common random numbers make it much smaller than the SEs of
the two estimates combined as if independent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

OBJECTIVES = ("mean", "quantile", "cvar")


def mean_and_se(x: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error ``s / sqrt(n)``."""
    n = x.size
    return float(np.mean(x)), float(np.std(x, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def quantile_and_se(x: np.ndarray, p: float) -> tuple[float, float]:
    """Empirical ``p``-quantile and its order-statistic standard error (half the ~68% rank interval)."""
    ordered = np.sort(x)
    n = ordered.size
    half_width = np.sqrt(n * p * (1.0 - p))
    lo = int(np.clip(np.floor(n * p - half_width), 0, n - 1))
    hi = int(np.clip(np.ceil(n * p + half_width), 0, n - 1))
    return float(np.quantile(ordered, p)), float(0.5 * (ordered[hi] - ordered[lo]))


def probability_and_se(event: np.ndarray) -> tuple[float, float]:
    """Fraction of paths where ``event`` holds and its binomial standard error."""
    p = float(np.mean(event))
    return p, float(np.sqrt(p * (1.0 - p) / event.size))


def strategy_summary(ds: xr.Dataset, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """One row per strategy: cost mean/SE/sd and quantiles, delay mean and P95, P(a run is late), all with SEs."""
    rows = []
    for strategy in ds["strategy"].values:
        cost = ds["cost"].sel(strategy=strategy).values
        delay = ds["delay"].sel(strategy=strategy).values
        row = {"strategy": strategy}
        row["cost_mean"], row["cost_mean_se"] = mean_and_se(cost)
        row["cost_sd"] = float(np.std(cost, ddof=1)) if cost.size > 1 else float("nan")
        for p in quantiles:
            row[f"cost_p{round(100 * p)}"], row[f"cost_p{round(100 * p)}_se"] = quantile_and_se(cost, p)
        row["delay_mean"], row["delay_mean_se"] = mean_and_se(delay)
        row["delay_p95"], row["delay_p95_se"] = quantile_and_se(delay, 0.95)
        if ds.sizes.get("run", 0):
            late = (ds["run_lateness_days"].sel(strategy=strategy) > 0).any("run").values
        else:
            late = np.zeros(cost.shape, bool)
        row["p_late"], row["p_late_se"] = probability_and_se(late)
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def quantile_ci(x: np.ndarray, p: float, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval of the ``p``-quantile from order statistics (see module Notes)."""
    ordered = np.sort(np.asarray(x, float))
    n = ordered.size
    tail = 0.5 * (1.0 - confidence)
    lower = int(stats.binom.ppf(tail, n, p))  # 1-based rank l
    upper = int(stats.binom.ppf(1.0 - tail, n, p)) + 1  # 1-based rank u
    return float(ordered[max(lower, 1) - 1]), float(ordered[min(upper, n) - 1])


def cvar_and_se(x: np.ndarray, level: float) -> tuple[float, float]:
    """Conditional value at risk ``CVaR_level`` (mean of the worst ``1 - level`` tail) and its standard error."""
    z = objective_influence(x, "cvar", level)
    return float(np.mean(z)), _se(z)


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
        return q + np.maximum(x - q, 0.0) / (1.0 - level)
    if objective == "quantile":
        return q + sparsity(x, level) * (level - (x <= q))
    raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")


def sparsity(x: np.ndarray, p: float) -> float:
    """``1 / f(q_p)`` by the difference quotient of empirical quantiles at the Hall-Sheather bandwidth."""
    n = x.size
    zp = stats.norm.ppf(p)
    h = n ** (-1 / 3) * stats.norm.ppf(0.975) ** (2 / 3) * (1.5 * stats.norm.pdf(zp) ** 2 / (2 * zp**2 + 1)) ** (1 / 3)
    lo, hi = max(p - h, 0.5 / n), min(p + h, 1 - 0.5 / n)
    q_lo, q_hi = np.quantile(x, [lo, hi])
    return float((q_hi - q_lo) / (hi - lo)) if hi > lo else 0.0


def objective_value_and_se(x: np.ndarray, objective: str, level: float) -> tuple[float, float]:
    """An objective's estimate and standard error: mean, ``level``-quantile (order statistics) or CVaR."""
    if objective == "quantile":
        return quantile_and_se(np.asarray(x, float), level)
    psi = objective_influence(x, objective, level)
    return float(np.mean(psi)), _se(psi)


def _se(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")


def distribution_metrics(
    x: np.ndarray, prefix: str, *, quantiles: tuple[float, ...], level: float, confidence: float
) -> dict[str, float]:
    """Mean (SE), sd, quantiles (SE and CI), VaR (SE) and CVaR (SE) of one variable, keys ``{prefix}_...``."""
    x = np.asarray(x, float)
    out: dict[str, float] = {}
    out[f"{prefix}_mean"], out[f"{prefix}_mean_se"] = mean_and_se(x)
    out[f"{prefix}_sd"] = float(np.std(x, ddof=1)) if x.size > 1 else float("nan")
    for p in quantiles:
        name = f"{prefix}_p{round(100 * p)}"
        out[name], out[f"{name}_se"] = quantile_and_se(x, p)
        out[f"{name}_lo"], out[f"{name}_hi"] = quantile_ci(x, p, confidence)
    out[f"{prefix}_var"], out[f"{prefix}_var_se"] = quantile_and_se(x, level)
    out[f"{prefix}_cvar"], out[f"{prefix}_cvar_se"] = cvar_and_se(x, level)
    return out


def any_run_late(ds: xr.Dataset) -> xr.DataArray:
    """(strategy, path) boolean: some named training run of the path finished after its deadline."""
    if ds.sizes.get("run", 0):
        return (ds["run_lateness_days"] > 0).any("run")
    return xr.zeros_like(ds["cost"], dtype=bool)


def risk_metrics(
    ds: xr.Dataset,
    *,
    quantiles: tuple[float, ...] = (0.05, 0.5, 0.95),
    level: float = 0.95,
    confidence: float = 0.95,
    budget_usd: float | None = None,
) -> pd.DataFrame:
    """One row per strategy: cost and delay metrics with SEs and CIs, P(late), P(cost > budget), P(on budget and time).

    Notes
    -----
    ``P(late) = (1/n) sum_i 1[some run of path i is late]``; ``P(over budget) = (1/n) sum_i 1[cost_i > budget]``;
    ``P(on budget and on time) = (1/n) sum_i 1[cost_i <= budget and no run late]``; each with the binomial SE.
    Without a budget every path is on budget (the joint probability is then P(on time)).
    """
    late = any_run_late(ds)
    rows = []
    for strategy in ds["strategy"].values:
        cost = ds["cost"].sel(strategy=strategy).values
        row: dict = {"strategy": strategy}
        row |= distribution_metrics(cost, "cost", quantiles=quantiles, level=level, confidence=confidence)
        row |= distribution_metrics(
            ds["delay"].sel(strategy=strategy).values,
            "delay",
            quantiles=quantiles,
            level=level,
            confidence=confidence,
        )
        on_time = ~late.sel(strategy=strategy).values
        on_budget = cost <= budget_usd if budget_usd is not None else np.ones(cost.shape, bool)
        row["p_late"], row["p_late_se"] = probability_and_se(~on_time)
        row["p_over_budget"], row["p_over_budget_se"] = (
            probability_and_se(~on_budget) if budget_usd is not None else (float("nan"), float("nan"))
        )
        row["p_on_budget_and_time"], row["p_on_budget_and_time_se"] = probability_and_se(on_budget & on_time)
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("strategy")
    frame.attrs.update(level=level, confidence=confidence, budget_usd=budget_usd, paths=ds.sizes["path"])
    return frame
