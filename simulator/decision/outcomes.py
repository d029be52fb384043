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

**Sampling design.** A ``qmc`` run (``engine.sampling=qmc``, Dataset attribute ``qmc_scrambles = R``) draws path ``i``
from scramble ``i mod R``. :class:`PathOutcomes` then carries each kept path's ``scramble``, and the ``*_se`` methods
(:meth:`Outcomes.fraction_se`, :meth:`Outcomes.p_cheaper_se`, :meth:`Outcomes.margin_se`,
:meth:`Outcomes.service_se`) give the replicate SE ``sd_r(mean_r) / sqrt(R)`` of the same per-path values
(:mod:`simulator.stats.replicates`); a streamed run reads the per-scramble means it streamed
(``stream_scramble_*``). They return None for independent paths (``mc``): the metrics then use the iid formulas.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Protocol

import numpy as np
import xarray as xr

from simulator.stats.estimators import influence_difference, se_of_mean, some_run_late
from simulator.stats.replicates import path_groups, se_of_replicates
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

    def fraction_se(self, event: str, k: int, threshold: float | None = None) -> float | None:
        """The replicate SE of :meth:`fraction` in a ``qmc`` run; None for independent paths (binomial SE)."""
        ...

    def p_cheaper_se(self, a: int, b: int) -> float | None:
        """The replicate SE of :meth:`p_cheaper` in a ``qmc`` run; None for independent paths."""
        ...

    def margin_se(self, b: int, a: int, objective: str, level: float) -> float | None:
        """The replicate SE of ``J(b) - J(a)`` in a ``qmc`` run (pathwise differences of the influence values);
        None for independent paths."""
        ...

    def service_se(self, k: int) -> dict[str, float] | None:
        """Replicate SEs ``{name}_mean_se`` of :data:`SERVICE` and ``usd_per_gpu_hour_se`` in a ``qmc`` run; None
        for independent paths."""
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
    scramble: np.ndarray | None = None  # (paths,) each path's qmc scramble; None: independent paths (mc)

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
                   dict(pool_kinds or {}), **service,
                   scramble=path_groups(ds["path"].values, ds.attrs.get("qmc_scrambles")))

    @classmethod
    def from_engine(cls, outputs: dict[str, np.ndarray], strategies: list[str], pool_kinds=None,
                    capex_index: int | None = None, scrambles: int = 0) -> PathOutcomes:
        """From raw engine outputs of paths ``0, 1, ...``, laid out ``(path, strategy, ...)``; ``scrambles`` of a
        ``qmc`` run."""
        capex = outputs["cash_by_category"][..., capex_index] if capex_index is not None else 0 * outputs["cost"]
        service = {name: np.asarray(outputs[name]).T for name in SERVICE + CASH if name in outputs}
        return cls(tuple(strategies), outputs["cost"].T, outputs["delay"].T,
                   some_run_late(outputs["run_lateness_days"]).T, np.asarray(capex).T, dict(pool_kinds or {}),
                   **service, scramble=path_groups(np.arange(len(outputs["cost"])), scrambles))

    @classmethod
    def from_cost(cls, strategies: tuple[str, ...], cost: np.ndarray, scramble: np.ndarray | None = None) -> PathOutcomes:
        """Outcomes that carry cost only ``(strategies, paths)``: no delay, no run late, no capex."""
        cost = np.asarray(cost, float)
        return cls(tuple(strategies), cost, np.zeros_like(cost), np.zeros(cost.shape, bool), np.zeros_like(cost),
                   scramble=scramble)

    @property
    def n(self) -> int:
        return int(self.cost.shape[1])

    @property
    def path_level(self) -> PathOutcomes:
        return self

    def distribution(self, variable: str, k: int) -> Sample:
        return Sample({"cost": self.cost, "delay": self.delay, "peak_cash": self.peak_cash}[variable][k], self.scramble)

    def fraction(self, event: str, k: int, threshold: float | None = None) -> tuple[float, int]:
        return float(np.mean(self._hit(event, k, threshold))), self.n

    def _replicate_se(self, values: np.ndarray) -> float | None:
        return None if self.scramble is None else float(se_of_mean(values, groups=self.scramble))

    def fraction_se(self, event: str, k: int, threshold: float | None = None) -> float | None:
        return self._replicate_se(self._hit(event, k, threshold))

    def p_cheaper_se(self, a: int, b: int) -> float | None:
        ca, cb = self.cost[a], self.cost[b]
        return self._replicate_se((ca < cb) + 0.5 * (ca == cb))

    def margin_se(self, b: int, a: int, objective: str, level: float) -> float | None:
        if self.scramble is None:
            return None
        return self._replicate_se(self.influence_difference(b, a, objective, level))

    def service_se(self, k: int) -> dict[str, float] | None:
        if self.scramble is None:
            return None
        out = {f"{name}_mean_se": self._replicate_se(getattr(self, name)[k]) for name in SERVICE}
        spend, delivered = self.spend[k], self.delivered_gpu_hours[k]
        ratio = np.mean(spend) / np.mean(delivered)  # delta method: psi_i = (spend_i - R delivered_i) / E[delivered]
        out["usd_per_gpu_hour_se"] = self._replicate_se((spend - ratio * delivered) / np.mean(delivered))
        return out

    def _hit(self, event: str, k: int, threshold: float | None = None) -> np.ndarray:
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
        return np.broadcast_to(hit, self.cost[k].shape)

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
        self.scrambles = int(ds.attrs.get("qmc_scrambles", 0))

    def _replicate_se(self, name: str, *index: int) -> float | None:
        """``sd_r(mean_r) / sqrt(R)`` of the streamed per-scramble means ``stream_scramble_{name}_mean[:, index]``;
        None for an ``mc`` run (or a variable it did not stream)."""
        variable = f"stream_scramble_{name}_mean"
        if not self.scrambles or variable not in self.ds:
            return None
        used = self.ds["stream_scramble_paths"].values > 0
        return float(se_of_replicates(self.ds[variable].values[used][(slice(None), *index)]))

    def _scaled(self, se: float | None) -> float | None:
        """A kept-path replicate SE scaled to all ``n`` paths by ``sqrt(m / n)``: conservative, since a QMC variance
        falls at least as fast as ``1 / n``."""
        return None if se is None else se * float(np.sqrt(self.path_level.n / self.n))

    def fraction_se(self, event: str, k: int, threshold: float | None = None) -> float | None:
        if not self.scrambles:
            return None
        if self._streamed_for(event, threshold):
            return self._replicate_se(f"p_{event}", k)
        return self._scaled(self.path_level.fraction_se(event, k, threshold))

    def p_cheaper_se(self, a: int, b: int) -> float | None:
        return self._replicate_se("p_cheaper", a, b)

    def margin_se(self, b: int, a: int, objective: str, level: float) -> float | None:
        if not self.scrambles:
            return None
        if objective == "mean":
            return self._replicate_se("cost_difference", a, b)  # [s, v]: cost_v - cost_s
        return self._scaled(self.path_level.margin_se(b, a, objective, level))

    def service_se(self, k: int) -> dict[str, float] | None:
        if not self.scrambles or "stream_scramble_spend_mean" not in self.ds:
            return None
        out = {f"{name}_mean_se": self._replicate_se(name, k) for name in SERVICE}
        used = self.ds["stream_scramble_paths"].values > 0
        spend, delivered = (self.ds[f"stream_scramble_{name}_mean"].values[used][:, k]
                            for name in ("spend", "delivered_gpu_hours"))
        ratio = float(self.ds["stream_spend_mean"][k] / self.ds["stream_delivered_gpu_hours_mean"][k])
        out["usd_per_gpu_hour_se"] = float(se_of_replicates((spend - ratio * delivered) / delivered.mean()))
        return out

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
            mean_se=self._replicate_se(variable, k),
            kept=self.path_level.distribution(variable, k) if self.scrambles else None,
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
