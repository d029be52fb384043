"""Summary statistics per strategy, each with its Monte Carlo standard error.

Notes
-----
For ``n`` independent paths with values ``x_i``:

* mean ``xbar = (1/n) sum x_i`` with standard error ``s / sqrt(n)``, ``s`` the sample standard deviation;
* quantile ``q_p`` = the empirical ``p``-quantile (linear interpolation); its standard error is estimated by the
  order-statistic interval: ranks ``n p +- sqrt(n p (1 - p))`` bound a ~68% interval, half its width is the SE;
* a probability ``p_hat = (1/n) sum 1[event_i]`` with standard error ``sqrt(p_hat (1 - p_hat) / n)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr


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
