"""Summary statistics per strategy, each with its Monte Carlo standard error.

The estimators and their formulas are in :mod:`simulator.stats.estimators`; this module assembles them into tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from simulator.stats.estimators import (
    cvar_and_se,
    mean_and_se,
    probability_and_se,
    quantile_and_se,
    quantile_ci,
)


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
