"""Decision statistics of a streamed run: from the ``stream_*`` variables, over all of its paths.

A run with more paths than ``report.path_level_paths`` keeps path-level outputs for the first paths only and
streams its statistics (:mod:`simulator.stats.collector`). This module turns those into the same tables as
:mod:`simulator.decision.metrics` and the same interface as :class:`simulator.decision.recommend.Outcomes`, so the summary, the
ranking and the recommendation use every path.

Notes
-----
With ``n`` paths, a mean's SE is ``sqrt(var / n)`` and a probability's ``sqrt(p (1 - p) / n)`` (exact streamed
moments and counts). Quantiles, VaR, CVaR and their order-statistic SEs and CIs come from the DDSketch histograms:
the order statistic of rank ``k`` is read within ``alpha |x_(k)|`` (:mod:`simulator.stats.accumulators`), so each quantile
bound shifts by at most that. The margin of a quantile or CVaR objective needs the pathwise influence values, which
depend on the final quantile; their SD is estimated on the path-level paths (``m`` of them) and divided by
``sqrt(n)``: ``SE = sd_m(psi^B - psi^A) / sqrt(n)``, the usual plug-in estimate. The SD is known to about
``1 / sqrt(2 m)`` relative for light-tailed influence values only; a CVaR's are heavy-tailed (a 5% tail has ~``m / 20``
paths), so keep ``report.path_level_paths`` large with a quantile or CVaR objective.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import xarray as xr

from simulator.config.schema import DecisionConfig
from simulator.decision.recommend import Outcomes
from simulator.stats.estimators import (
    cvar_and_se,
    influence_difference,
    mean_and_se,
    probability_se,
    quantile_and_se,
    quantile_ci,
    se_from_variance,
)
from simulator.stats.samples import SketchSample


def is_streamed(ds: xr.Dataset) -> bool:
    """Whether ``ds`` holds streamed statistics (more paths than it keeps path by path)."""
    return "stream_cost_sketch" in ds


def _binomial(p: float, n: int) -> tuple[float, float]:
    return float(p), probability_se(p, n)


class SketchColumn:
    """One strategy's streamed distribution of a variable: exact moments plus its sketch."""

    def __init__(self, ds: xr.Dataset, name: str, strategy: str):
        self.sample = SketchSample(
            ds[f"stream_{name}_sketch"].sel(strategy=strategy).values,
            ds[f"{name}_bucket"].values,
            float(ds[f"stream_{name}_mean"].sel(strategy=strategy)),
            float(ds[f"stream_{name}_variance"].sel(strategy=strategy)),
        )
        self.counts, self.values = self.sample.counts, self.sample.representatives

    def mean_and_se(self) -> tuple[float, float]:
        return mean_and_se(self.sample)

    def objective(self, objective: str, level: float) -> tuple[float, float]:
        if objective == "mean":
            return self.mean_and_se()
        if objective == "quantile":
            return quantile_and_se(self.sample, level)
        return cvar_and_se(self.sample, level)

    def metrics(self, prefix: str, quantiles, level: float, confidence: float) -> dict[str, float]:
        """The columns of :func:`simulator.decision.metrics.distribution_metrics`, from the stream."""
        out = {}
        out[f"{prefix}_mean"], out[f"{prefix}_mean_se"] = self.mean_and_se()
        out[f"{prefix}_sd"] = float(np.sqrt(self.sample.variance))
        for p in quantiles:
            name = f"{prefix}_p{round(100 * p)}"
            out[name], out[f"{name}_se"] = quantile_and_se(self.sample, p)
            out[f"{name}_lo"], out[f"{name}_hi"] = quantile_ci(self.sample, p, confidence)
        out[f"{prefix}_var"], out[f"{prefix}_var_se"] = quantile_and_se(self.sample, level)
        out[f"{prefix}_cvar"], out[f"{prefix}_cvar_se"] = cvar_and_se(self.sample, level)
        return out


class StreamedOutcomes:
    """:class:`~simulator.decision.recommend.Outcomes`' statistics over all paths of a streamed run (see module Notes)."""

    def __init__(self, ds: xr.Dataset, pool_kinds: dict[str, tuple[str, ...]] | None = None):
        self.ds = ds
        self.strategies = tuple(str(s) for s in ds["strategy"].values)
        self.pool_kinds = dict(pool_kinds or {})
        self.n = int(ds.attrs["paths"])
        self.cost = [SketchColumn(ds, "cost", s) for s in self.strategies]
        self.delay = [SketchColumn(ds, "delay", s) for s in self.strategies]

    @functools.cached_property
    def path_level(self) -> Outcomes:
        """The kept paths, read only where a statistic was not streamed (influence-value SDs, other budgets)."""
        return Outcomes.from_dataset(self.ds, self.pool_kinds)

    def _probability(self, name: str, k: int) -> tuple[float, float]:
        return _binomial(float(self.ds[f"stream_p_{name}"][k]), self.n)

    def p_late(self, k: int) -> tuple[float, float]:
        return self._probability("late", k)

    def delay_mean(self, k: int) -> tuple[float, float]:
        return self.delay[k].mean_and_se()

    def p_over_budget(self, k: int, budget: float) -> tuple[float, float]:
        if self.ds.attrs.get("stream_budget_usd") == budget:
            return self._probability("over_budget", k)
        column = self.cost[k]  # another budget than the run's: the sketch's fraction of buckets above it
        return _binomial(float(column.counts[column.values > budget].sum() / self.n), self.n)

    def p_over_capex(self, k: int, budget: float) -> tuple[float, float]:
        if self.ds.attrs.get("stream_capex_budget_usd") == budget:
            return self._probability("over_capex_budget", k)
        return self.path_level.p_over_capex(k, budget)  # not streamed for this budget: the path-level paths

    def objective(self, k: int, decision: DecisionConfig) -> tuple[float, float]:
        return self.cost[k].objective(decision.objective, decision.level)

    def margin(self, b: int, a: int, decision: DecisionConfig) -> tuple[float, float]:
        """``J(b) - J(a)``; SE from the streamed pathwise differences (mean) or the plug-in SD (see Notes)."""
        if decision.objective == "mean":
            value = float(self.ds["stream_cost_difference_mean"][a, b])
            return value, float(se_from_variance(self.ds["stream_cost_difference_variance"][a, b], self.n))
        value = self.objective(b, decision)[0] - self.objective(a, decision)[0]
        cost = self.path_level.cost
        psi = influence_difference(cost[b], cost[a], decision.objective, decision.level)
        return float(value), float(se_from_variance(np.var(psi, ddof=1), self.n))

    def p_cheaper(self, a: int, b: int) -> tuple[float, float]:
        return _binomial(float(self.ds["stream_p_cheaper"][a, b]), self.n)


def streamed_risk_metrics(
    ds: xr.Dataset, *, quantiles=(0.05, 0.5, 0.95), level=0.95, confidence=0.95, budget_usd=None
) -> pd.DataFrame:
    """:func:`simulator.decision.metrics.risk_metrics` over all paths of a streamed run."""
    outcomes = StreamedOutcomes(ds)
    rows = []
    for k, strategy in enumerate(outcomes.strategies):
        row = {"strategy": strategy}
        row |= outcomes.cost[k].metrics("cost", quantiles, level, confidence)
        row |= outcomes.delay[k].metrics("delay", quantiles, level, confidence)
        row["p_late"], row["p_late_se"] = outcomes.p_late(k)
        row["p_over_budget"], row["p_over_budget_se"] = (
            outcomes.p_over_budget(k, budget_usd) if budget_usd is not None else (float("nan"), float("nan"))
        )
        if budget_usd is None or ds.attrs.get("stream_budget_usd") == budget_usd:
            row["p_on_budget_and_time"], row["p_on_budget_and_time_se"] = outcomes._probability(
                "on_budget_and_time", k)
        else:  # not streamed for this budget: the path-level paths
            on = (ds["cost"][k].values <= budget_usd) & ~outcomes.path_level.late[k]
            row["p_on_budget_and_time"], row["p_on_budget_and_time_se"] = _binomial(on.mean(), on.size)
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("strategy")
    frame.attrs.update(level=level, confidence=confidence, budget_usd=budget_usd, paths=outcomes.n,
                       path_level_paths=ds.sizes["path"],
                       relative_accuracy=float(ds["stream_cost_sketch"].attrs["relative_accuracy"]))
    return frame
