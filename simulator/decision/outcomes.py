"""A run's per-path outcomes behind one protocol, whether every path was kept or the statistics were streamed.

:class:`Outcomes` is what the metrics (:mod:`simulator.decision.metrics`) and the recommendation read: each metric,
its SE and the pathwise margin are written once there, on these accessors. Two implementations:

* :class:`PathOutcomes`: arrays ``(strategies, paths)`` of every kept path (from the results Dataset or from raw
  engine outputs, for ``engine.paths=auto``);
* :class:`StreamedOutcomes`: a run with more paths than ``report.path_level_paths`` keeps the first paths only and
  streams its statistics over all of them (:mod:`simulator.stats.collector`, the ``stream_*`` variables).

Notes
-----
A streamed run's means, variances, pathwise difference moments and counts are exact over all ``n`` paths; its order
statistics come from DDSketch histograms, within ``alpha |x_(k)|`` (:mod:`simulator.stats.samples`). The per-path
influence values of a quantile or CVaR objective depend on the final quantile, so they are read on the ``m`` kept
paths: the margin's SE is then the plug-in ``sd_m(psi^B - psi^A) / sqrt(n)``. That SD is known to about
``1 / sqrt(2 m)`` relative for light-tailed influence values only; a CVaR's are heavy-tailed (a 5% tail has
~``m / 20`` paths), so keep ``report.path_level_paths`` large with a quantile or CVaR objective. A probability the run
did not stream (another budget than the run's) is read from the kept paths, with their count as ``n``.

Events counted by :meth:`Outcomes.fraction` (``t`` the threshold): ``late`` (some named run finished after its
deadline), ``over_budget`` (``cost > t``), ``over_capex_budget`` (``capex > t``), ``on_budget_and_time``
(``cost <= t`` and no run late; every path is on budget when ``t`` is None) and ``out_of_cash`` (``cash_need > t``,
the cash spent before the next raise above the funding, :mod:`simulator.engine.cash`). :meth:`Outcomes.distribution`
reads ``cost``, ``delay`` and ``peak_cash`` (a results file without cash outputs gives NaN for the last). :meth:`Outcomes.p_cheaper` counts
``cost_a < cost_b`` with ties one half.

``cost`` is the cost of service: ``spend + shortfall`` (money spent plus the priced delay, lateness and unserved
work). :meth:`Outcomes.service` gives the moments of ``spend``, ``shortfall`` and ``delivered_gpu_hours`` and the
covariance of spend and delivered GPU-hours (for the cost per delivered GPU-hour). A results file written before
the engine priced the shortfall has none of them: its cost was all spend, so ``spend = cost``, ``shortfall = 0``,
and the delivered GPU-hours are unknown (NaN, so the cost per GPU-hour shows as missing).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Protocol

import numpy as np
import xarray as xr

from simulator.stats.estimators import influence_difference, some_run_late
from simulator.stats.samples import OrderedSample, Sample, SketchSample

EVENTS = ("late", "over_budget", "over_capex_budget", "on_budget_and_time", "out_of_cash")
CASH = ("peak_cash", "cash_need")  # per-path cash outputs (simulator.engine.cash)
SERVICE = ("spend", "shortfall", "delivered_gpu_hours")  # per-path outputs beside the cost of service


def is_streamed(ds: xr.Dataset) -> bool:
    """Whether ``ds`` holds streamed statistics (more paths than it keeps path by path)."""
    return "stream_cost_sketch" in ds


class Outcomes(Protocol):
    """Per-path outcomes of every strategy, read through accessors (see module Notes)."""

    strategies: tuple[str, ...]
    pool_kinds: dict[str, tuple[str, ...]]
    n: int  # the paths the statistics cover

    @property
    def path_level(self) -> PathOutcomes:
        """The paths kept path by path (all of them, unless the run was streamed)."""
        ...

    def distribution(self, variable: str, k: int) -> OrderedSample:
        """Strategy ``k``'s ``cost`` or ``delay``: count, mean and variance, order statistic at rank ``k``."""
        ...

    def fraction(self, event: str, k: int, threshold: float | None = None) -> tuple[float, int]:
        """Fraction of paths where ``event`` holds for strategy ``k``, and the number of paths it counts."""
        ...

    def p_cheaper(self, a: int, b: int) -> tuple[float, int]:
        """Fraction of paths where ``cost_a < cost_b`` (ties one half), and the number of paths."""
        ...

    def difference_moments(self, b: int, a: int) -> tuple[float, float]:
        """Mean and sample variance of the pathwise difference ``cost_b - cost_a`` over the ``n`` paths."""
        ...

    def influence_difference(self, b: int, a: int, objective: str, level: float) -> np.ndarray:
        """Per-path ``psi^b - psi^a`` of the objective on the kept paths."""
        ...

    def service(self, k: int) -> dict[str, float]:
        """Strategy ``k``'s ``{name}_mean`` and ``{name}_variance`` of :data:`SERVICE` and
        ``spend_delivered_covariance`` over the ``n`` paths (see module Notes for old results)."""
        ...

    def describe(self) -> dict:
        """What a metrics table says about its paths: ``paths`` and, for a streamed run, ``path_level_paths`` and
        the sketch's ``relative_accuracy``."""
        ...


@dataclasses.dataclass(frozen=True)
class PathOutcomes:
    """Every kept path's outcomes, arrays of shape ``(strategies, paths)``."""

    strategies: tuple[str, ...]
    cost: np.ndarray  # present value, USD
    delay: np.ndarray  # days
    late: np.ndarray  # bool: some named run finished after its deadline
    capex: np.ndarray  # undiscounted purchases, USD
    pool_kinds: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    spend: np.ndarray | None = None  # present value, USD; None: all of cost (a run without priced shortfall)
    shortfall: np.ndarray | None = None  # present value, USD; None: 0
    delivered_gpu_hours: np.ndarray | None = None  # None: not recorded (NaN)
    peak_cash: np.ndarray | None = None  # undiscounted, USD; None: not recorded (NaN)
    cash_need: np.ndarray | None = None  # undiscounted, USD, before the next raise; None: not recorded (NaN)

    def __post_init__(self):
        cost = np.asarray(self.cost, float)
        nan = np.full_like(cost, np.nan)
        defaults = {"spend": cost, "shortfall": np.zeros_like(cost), "delivered_gpu_hours": nan, "peak_cash": nan,
                    "cash_need": nan}
        for name, default in defaults.items():
            value = getattr(self, name)
            object.__setattr__(self, name, default if value is None else np.asarray(value, float))

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, pool_kinds: dict[str, tuple[str, ...]] | None = None) -> PathOutcomes:
        capex = (
            ds["cash_by_category"].sel(category="capex").values
            if "capex" in ds["category"].values
            else np.zeros(ds["cost"].shape)
        )
        lateness = ds["run_lateness_days"].transpose("strategy", "path", ...).values
        strategies = tuple(str(s) for s in ds["strategy"].values)
        service = {name: ds[name].transpose("strategy", "path").values for name in SERVICE + CASH if name in ds}
        return cls(strategies, ds["cost"].values, ds["delay"].values, some_run_late(lateness), capex,
                   dict(pool_kinds or {}), **service)

    @classmethod
    def from_engine(cls, outputs: dict[str, np.ndarray], strategies: list[str], pool_kinds=None,
                    capex_index: int | None = None) -> PathOutcomes:
        """From raw engine outputs, laid out ``(path, strategy, ...)``."""
        capex = outputs["cash_by_category"][..., capex_index] if capex_index is not None else 0 * outputs["cost"]
        service = {name: np.asarray(outputs[name]).T for name in SERVICE + CASH if name in outputs}
        return cls(tuple(strategies), outputs["cost"].T, outputs["delay"].T,
                   some_run_late(outputs["run_lateness_days"]).T, np.asarray(capex).T, dict(pool_kinds or {}),
                   **service)

    @classmethod
    def from_cost(cls, strategies: tuple[str, ...], cost: np.ndarray) -> PathOutcomes:
        """Outcomes that carry cost only ``(strategies, paths)``: no delay, no run late, no capex."""
        cost = np.asarray(cost, float)
        return cls(tuple(strategies), cost, np.zeros_like(cost), np.zeros(cost.shape, bool), np.zeros_like(cost))

    @property
    def n(self) -> int:
        return int(self.cost.shape[1])

    @property
    def path_level(self) -> PathOutcomes:
        return self

    def distribution(self, variable: str, k: int) -> Sample:
        return Sample({"cost": self.cost, "delay": self.delay, "peak_cash": self.peak_cash}[variable][k])

    def fraction(self, event: str, k: int, threshold: float | None = None) -> tuple[float, int]:
        if event == "late":
            hit = self.late[k]
        elif event == "over_budget":
            hit = self.cost[k] > threshold
        elif event == "over_capex_budget":
            hit = self.capex[k] > threshold
        elif event == "on_budget_and_time":
            hit = ~self.late[k] & ((self.cost[k] <= threshold) if threshold is not None else True)
        elif event == "out_of_cash":
            hit = self.cash_need[k] > threshold
        else:
            raise ValueError(f"event must be one of {EVENTS}, not {event!r}")
        return float(np.mean(hit)), self.n

    def p_cheaper(self, a: int, b: int) -> tuple[float, int]:
        ca, cb = self.cost[a], self.cost[b]
        return float(np.mean((ca < cb) + 0.5 * (ca == cb))), self.n

    def difference_moments(self, b: int, a: int) -> tuple[float, float]:
        d = self.cost[b] - self.cost[a]
        return float(np.mean(d)), float(np.var(d, ddof=1)) if d.size > 1 else float("nan")

    def influence_difference(self, b: int, a: int, objective: str, level: float) -> np.ndarray:
        return influence_difference(self.cost[b], self.cost[a], objective, level)

    def service(self, k: int) -> dict[str, float]:
        out = {}
        for name in SERVICE:
            x = getattr(self, name)[k]
            out[f"{name}_mean"] = float(np.mean(x))
            out[f"{name}_variance"] = float(np.var(x, ddof=1)) if x.size > 1 else float("nan")
        pair = np.cov(self.spend[k], self.delivered_gpu_hours[k], ddof=1) if self.n > 1 else np.full((2, 2), np.nan)
        out["spend_delivered_covariance"] = float(pair[0, 1])
        return out

    def describe(self) -> dict:
        return dict(paths=self.n)


class StreamedOutcomes:
    """The statistics of a streamed run over all of its paths, from its ``stream_*`` variables (see module Notes)."""

    def __init__(self, ds: xr.Dataset, pool_kinds: dict[str, tuple[str, ...]] | None = None):
        self.ds = ds
        self.strategies = tuple(str(s) for s in ds["strategy"].values)
        self.pool_kinds = dict(pool_kinds or {})
        self.n = int(ds.attrs["paths"])

    @functools.cached_property
    def path_level(self) -> PathOutcomes:
        """The kept paths, read only where a statistic was not streamed (influence values, other budgets)."""
        return PathOutcomes.from_dataset(self.ds, self.pool_kinds)

    def distribution(self, variable: str, k: int) -> SketchSample:
        ds, strategy = self.ds, self.strategies[k]
        if f"stream_{variable}_sketch" not in ds:  # a results file from before the variable was streamed
            return self.path_level.distribution(variable, k)
        return SketchSample(
            ds[f"stream_{variable}_sketch"].sel(strategy=strategy).values,
            ds[f"{variable}_bucket"].values,
            float(ds[f"stream_{variable}_mean"].sel(strategy=strategy)),
            float(ds[f"stream_{variable}_variance"].sel(strategy=strategy)),
        )

    def _streamed_for(self, event: str, threshold: float | None) -> bool:
        """Whether the run counted ``event`` against ``threshold`` (the budget it streamed with)."""
        budget = {"over_budget": "budget_usd", "over_capex_budget": "capex_budget_usd",
                  "on_budget_and_time": "budget_usd", "out_of_cash": "funding_usd"}.get(event)
        return budget is None or self.ds.attrs.get(f"stream_{budget}") == threshold

    def fraction(self, event: str, k: int, threshold: float | None = None) -> tuple[float, int]:
        if event not in EVENTS:
            raise ValueError(f"event must be one of {EVENTS}, not {event!r}")
        if self._streamed_for(event, threshold):
            return float(self.ds[f"stream_p_{event}"][k]), self.n
        if event == "over_budget":  # another budget than the run's: the sketch's share of buckets above it
            sample = self.distribution("cost", k)
            return float(sample.counts[sample.representatives > threshold].sum() / self.n), self.n
        return self.path_level.fraction(event, k, threshold)  # not streamed for this threshold: the kept paths

    def p_cheaper(self, a: int, b: int) -> tuple[float, int]:
        return float(self.ds["stream_p_cheaper"][a, b]), self.n

    def difference_moments(self, b: int, a: int) -> tuple[float, float]:
        # stream_cost_difference_*[s, v] are the moments of cost_v - cost_s
        return (float(self.ds["stream_cost_difference_mean"][a, b]),
                float(self.ds["stream_cost_difference_variance"][a, b]))

    def influence_difference(self, b: int, a: int, objective: str, level: float) -> np.ndarray:
        return self.path_level.influence_difference(b, a, objective, level)

    def service(self, k: int) -> dict[str, float]:
        ds = self.ds
        if "stream_spend_mean" not in ds:  # a run before the shortfall was priced: all of cost was spend
            cost_mean, cost_variance = float(ds["stream_cost_mean"][k]), float(ds["stream_cost_variance"][k])
            nan = float("nan")
            return dict(spend_mean=cost_mean, spend_variance=cost_variance, shortfall_mean=0.0,
                        shortfall_variance=0.0, delivered_gpu_hours_mean=nan, delivered_gpu_hours_variance=nan,
                        spend_delivered_covariance=nan)
        out = {f"{name}_{moment}": float(ds[f"stream_{name}_{moment}"][k])
               for name in SERVICE for moment in ("mean", "variance")}
        out["spend_delivered_covariance"] = float(ds["stream_spend_delivered_covariance"][k])
        return out

    def describe(self) -> dict:
        return dict(paths=self.n, path_level_paths=self.ds.sizes["path"],
                    relative_accuracy=float(self.ds["stream_cost_sketch"].attrs["relative_accuracy"]))


def outcomes_of(ds: xr.Dataset, pool_kinds: dict[str, tuple[str, ...]] | None = None) -> Outcomes:
    """The outcomes of a results Dataset: :class:`StreamedOutcomes` for a streamed run, else :class:`PathOutcomes`."""
    return StreamedOutcomes(ds, pool_kinds) if is_streamed(ds) else PathOutcomes.from_dataset(ds, pool_kinds)
