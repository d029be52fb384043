"""What a run streams over all of its paths: the decision statistics, folded chunk by chunk in float64.

:func:`simulator.engine.host.run_stream` feeds every chunk of engine outputs to :class:`RunStatistics`; path-level
outputs are kept only for the first ``report.path_level_paths`` paths, so memory does not grow with the path count.
:meth:`RunStatistics.data_vars` labels the result for the Dataset (variables ``stream_*``, over *all* paths).

Notes
-----
Per strategy ``s`` (and pair ``s, v``; ``n`` paths; exact moments by :class:`simulator.stats.accumulators.Moments`):

* mean and variance of cost (the cost of service), delay, cost and cash by category, run lateness;
* when the engine outputs them (:attr:`RunStatistics.SERVICE_INPUTS`): mean and variance of ``spend``,
  ``shortfall`` and ``delivered_gpu_hours``, and the covariance of spend and delivered GPU-hours (exact co-moments,
  :class:`simulator.stats.accumulators.CoMoments`), so the cost per delivered GPU-hour
  ``R = E[spend] / E[delivered]`` gets its delta-method SE ``sqrt((var_s - 2 R cov + R^2 var_d) / n) / E[delivered]``
  over all paths exactly as from the kept paths (:func:`simulator.stats.estimators.ratio_and_se`). Co-moments were
  chosen over moments of ``spend - R0 delivered`` at a fixed ``R0``: they need no guess of ``R`` and are exact;
* pathwise differences ``d_sv = cost_v - cost_s``: mean and variance, so ``SE(mean d_sv) = sd(d_sv) / sqrt(n)``
  uses the common random numbers;
* counts: ``P(cost_s < cost_v)`` (ties count one half), ``P(some run late)``, ``P(cost > budget)``,
  ``P(capex > capex budget)``, ``P(cost <= budget and no run late)``, ``P(cash need before the raise > funding)``;
  a probability's SE is binomial;
* mean and variance of the peak cash and of the cash needed before the raise (:mod:`simulator.engine.cash`);
* DDSketch histograms of cost, delay and peak cash (:class:`simulator.stats.accumulators.LogSketch`, relative accuracy
  ``report.sketch_relative_accuracy``) for quantiles, VaR and CVaR;
* with ``scrambles`` ``R`` (``engine.sampling=qmc``): per scramble ``r`` (paths ``i`` with ``i mod R = r``, counted
  from the first path folded in), the path count and the sums of every mean-type quantity above (:data:`SCRAMBLED`),
  in ``counts["scramble_*"]``, so each SE is ``sd_r(mean_r) / sqrt(R)`` (:mod:`simulator.stats.replicates`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import numpy as np

from simulator.stats.accumulators import CoMoments, LogSketch, Moments
from simulator.stats.estimators import some_run_late
from simulator.stats.state import decode, encode

SCRAMBLED = {  # per-scramble sums of a qmc run: name -> (dims after the scramble axis, units)
    "cost": (("strategy",), "USD"), "delay": (("strategy",), "days"),
    "cost_difference": (("strategy", "versus"), "USD"), "p_cheaper": (("strategy", "versus"), "1"),
    "p_late": (("strategy",), "1"), "p_over_budget": (("strategy",), "1"),
    "p_over_capex_budget": (("strategy",), "1"), "p_on_budget_and_time": (("strategy",), "1"),
    "p_out_of_cash": (("strategy",), "1"), "spend": (("strategy",), "USD"), "shortfall": (("strategy",), "USD"),
    "delivered_gpu_hours": (("strategy",), "GPU-hours"), "peak_cash": (("strategy",), "USD"),
}


class RunStatistics:
    """Running statistics of a run's engine outputs (laid out ``(path, strategy, ...)``).

    Parameters
    ----------
    strategies, runs, categories : sizes of the strategy, named-run and cost-category axes.
    capex_column : index of the capex category along the category axis of ``cash_by_category`` (the caller knows
        the engine's category order; this module does not import the engine).
    budget_usd, capex_budget_usd, funding_usd : what ``P(cost > budget)``, ``P(capex > capex budget)`` and
        ``P(cash_need > funding)`` count against (None: no budget, nothing is over it).
    relative_accuracy : the sketches' relative accuracy ``alpha``.
    scrambles : ``engine.qmc_scrambles`` of a ``qmc`` run (per-scramble sums, see module Notes); None for ``mc``.
    """

    INPUTS = ("cost_by_category", "cash_by_category", "delay", "run_lateness_days")  # engine outputs it reads
    CASH_INPUTS = ("peak_cash", "cash_need")  # read when the first chunk has them (simulator.engine.cash)
    SERVICE_INPUTS = ("spend", "shortfall", "delivered_gpu_hours")  # read when the first chunk has them

    def __init__(self, strategies: int, runs: int, categories: int, *, capex_column: int,
                 budget_usd: float | None, capex_budget_usd: float | None, relative_accuracy: float,
                 funding_usd: float | None = None, scrambles: int | None = None):
        s = strategies
        self.settings = dict(strategies=strategies, runs=runs, categories=categories, capex_column=capex_column,
                             budget_usd=budget_usd, capex_budget_usd=capex_budget_usd,
                             relative_accuracy=relative_accuracy, funding_usd=funding_usd, scrambles=scrambles)
        self.scrambles = scrambles
        self.capex_column = capex_column
        self.budget = np.inf if budget_usd is None else float(budget_usd)
        self.capex_budget = np.inf if capex_budget_usd is None else float(capex_budget_usd)
        self.funding = np.inf if funding_usd is None else float(funding_usd)
        self.moments = {
            "cost": Moments.empty((s,)),
            "delay": Moments.empty((s,)),
            "cost_difference": Moments.empty((s, s)),
            "cost_by_category": Moments.empty((s, categories)),
            "cash_by_category": Moments.empty((s, categories)),
            "run_lateness_days": Moments.empty((s, runs)),
        }
        self.counts = {
            "cheaper": np.zeros((s, s)),  # halves for ties, so float
            "late": np.zeros(s, np.int64),
            "over_budget": np.zeros(s, np.int64),
            "over_capex_budget": np.zeros(s, np.int64),
            "on_budget_and_time": np.zeros(s, np.int64),
            "out_of_cash": np.zeros(s, np.int64),
        }
        self.sketches = {
            "cost": LogSketch.empty(s, relative_accuracy),
            "delay": LogSketch.empty(s, relative_accuracy),
        }
        self.paths = 0
        self.service: bool | None = None  # whether the chunks carry SERVICE_INPUTS (decided by the first chunk)
        self.cash: bool | None = None  # whether they carry CASH_INPUTS (decided by the first chunk)

    def _fold_service(self, chunk: dict[str, np.ndarray]) -> None:
        """Moments of :attr:`SERVICE_INPUTS` and the spend-delivered co-moments, if the run outputs them.

        The first chunk decides; a later chunk without them raises, since moments over only some chunks would be
        silently wrong (the caller must pass every chunk the same outputs).
        """
        present = [name in chunk for name in self.SERVICE_INPUTS]
        if self.service is None:
            self.service = all(present)
            if self.service:
                shape = np.shape(chunk["spend"])[1:]
                self.moments |= {name: Moments.empty(shape) for name in self.SERVICE_INPUTS}
                self.spend_delivered = CoMoments.empty(shape)
        if not self.service:
            return
        if not all(present):
            missing = [name for name in self.SERVICE_INPUTS if name not in chunk]
            raise ValueError(f"a chunk lacks {missing}, which earlier chunks had: pass "
                             "RunStatistics.SERVICE_INPUTS with every chunk")
        for name in self.SERVICE_INPUTS:
            self.moments[name] = self.moments[name].merge(Moments.of(chunk[name]))
        self.spend_delivered = self.spend_delivered.merge(CoMoments.of(chunk["spend"], chunk["delivered_gpu_hours"]))

    def _fold_cash(self, chunk: dict[str, np.ndarray]) -> None:
        """Moments of the peak cash and the cash need, the peak cash's sketch and ``P(cash_need > funding)``."""
        if self.cash is None:
            self.cash = all(name in chunk for name in self.CASH_INPUTS)
            if self.cash:
                shape = np.shape(chunk["peak_cash"])[1:]
                self.moments |= {name: Moments.empty(shape) for name in self.CASH_INPUTS}
                self.sketches["peak_cash"] = LogSketch.empty(shape[0], self.sketches["cost"].relative_accuracy)
        if not self.cash:
            return
        for name in self.CASH_INPUTS:
            self.moments[name] = self.moments[name].merge(Moments.of(chunk[name]))
        self.counts["out_of_cash"] += (chunk["cash_need"] > self.funding).sum(axis=0)
        self.sketches["peak_cash"].add(chunk["peak_cash"])

    def add(self, chunk: dict[str, np.ndarray]) -> None:
        """Fold one chunk of host (float64) engine outputs in: :attr:`INPUTS`, ``cost`` (their float64 total) and,
        when present, :attr:`SERVICE_INPUTS`."""
        self._fold_service(chunk)
        self._fold_cash(chunk)
        cost = chunk["cost"]
        difference = cost[:, None, :] - cost[:, :, None]  # [path, s, v] = cost_v - cost_s
        values = {
            "cost": cost,
            "delay": chunk["delay"],
            "cost_difference": difference,
            "cost_by_category": chunk["cost_by_category"],
            "cash_by_category": chunk["cash_by_category"],
            "run_lateness_days": chunk["run_lateness_days"],
        }
        for name, x in values.items():
            self.moments[name] = self.moments[name].merge(Moments.of(x))
        late = some_run_late(chunk["run_lateness_days"])
        capex = chunk["cash_by_category"][..., self.capex_column]
        over = cost > self.budget
        self.counts["cheaper"] += (difference > 0).sum(axis=0) + 0.5 * (difference == 0).sum(axis=0)
        self.counts["late"] += late.sum(axis=0)
        self.counts["over_budget"] += over.sum(axis=0)
        self.counts["over_capex_budget"] += (capex > self.capex_budget).sum(axis=0)
        self.counts["on_budget_and_time"] += (~over & ~late).sum(axis=0)
        self.sketches["cost"].add(cost)
        self.sketches["delay"].add(chunk["delay"])
        if self.scrambles:
            self._fold_scrambles(chunk, difference, late, over, capex)
        self.paths += cost.shape[0]

    # State: saved, loaded and merged generically over every attribute, so a new accumulator needs no code here.
    COUNTERS = ("paths",)  # integer attributes that add up in a merge; other scalars are settings that must agree

    def state(self, part: str | None = None) -> dict:
        """Every attribute as a tree for :func:`simulator.stats.state.save` (exact to the bit).

        ``part="ordered"`` keeps only the accumulators whose merge is order-dependent in floating point (those
        without ``exact_merge = True``: :class:`Moments`, :class:`CoMoments`), ``part="exact"`` only the others
        (count arrays, sketches, :attr:`COUNTERS`); settings are always kept.
        """
        out = {name: _select(value, part, name in self.COUNTERS) for name, value in vars(self).items()}
        return {name: value for name, value in out.items() if value is not _DROP}

    @classmethod
    def from_state(cls, tree: dict) -> RunStatistics:
        """Statistics from :meth:`state` (a partial state merges, see :meth:`merge`, but does not fold chunks)."""
        statistics = cls.__new__(cls)
        vars(statistics).update(copy.deepcopy(tree))
        return statistics

    def empty_like(self) -> RunStatistics:
        """Statistics with the same settings and no paths."""
        return type(self)(**self.settings)

    def merge(self, other: RunStatistics, part: str | None = None) -> None:
        """Fold ``other`` in (in place): accumulators by their ``merge``, count arrays and :attr:`COUNTERS` add;
        ``part`` as in :meth:`state`. Merging a chunk's own statistics (``empty_like().add(chunk)``) gives exactly
        the bits :meth:`add` gives, so merging chunks in chunk order reproduces the sequential fold."""
        for name, value in vars(other).items():
            value = _select(value, part, name in self.COUNTERS)
            if value is not _DROP:
                setattr(self, name, _merge(getattr(self, name, None), value, name in self.COUNTERS))
    def _fold_scrambles(self, chunk, difference, late, over, capex) -> None:
        """Per-scramble path counts and sums of :data:`SCRAMBLED` (a ``qmc`` run; see module Notes)."""
        n = chunk["cost"].shape[0]
        onehot = (np.arange(self.paths, self.paths + n)[None, :] % self.scrambles
                  == np.arange(self.scrambles)[:, None]).astype(np.float64)  # (R, n)
        values = {"paths": np.ones(n), "cost": chunk["cost"], "delay": chunk["delay"],
                  "cost_difference": difference, "p_cheaper": (difference > 0) + 0.5 * (difference == 0),
                  "p_late": late, "p_over_budget": over, "p_over_capex_budget": capex > self.capex_budget,
                  "p_on_budget_and_time": ~over & ~late}
        if self.cash:
            values |= {"p_out_of_cash": chunk["cash_need"] > self.funding, "peak_cash": chunk["peak_cash"]}
        if self.service:
            values |= {name: chunk[name] for name in self.SERVICE_INPUTS}
        for name, x in values.items():
            x = np.asarray(x, np.float64).reshape(n, -1)
            total = (onehot @ x).reshape((self.scrambles, *np.shape(values[name])[1:]))
            key = f"scramble_{name}"
            self.counts[key] = self.counts[key] + total if key in self.counts else total

    def data_vars(self) -> tuple[dict[str, tuple], dict[str, np.ndarray]]:
        """``({name: (dims, values, attrs)}, {coordinate: values})`` for :func:`simulator.results.build_dataset`."""
        s, pair, cat, run = ("strategy",), ("strategy", "versus"), ("strategy", "category"), ("strategy", "run")
        out, coords = {}, {}

        def add(name, dims, values, units, long_name):
            out[f"stream_{name}"] = (dims, np.asarray(values), dict(
                units=units, long_name=long_name, description=f"{long_name}, over all {self.paths:,} paths "
                "(streamed; see simulator.stats.collector)"))

        for name, dims, units in (("cost", s, "USD"), ("delay", s, "days"), ("cost_difference", pair, "USD"),
                                  ("cost_by_category", cat, "USD"), ("cash_by_category", cat, "USD"),
                                  ("run_lateness_days", run, "days"),
                                  *((name, s, "USD") for name in self.CASH_INPUTS if self.cash)):
            moments = self.moments[name]
            label = "cost(versus) - cost(strategy)" if name == "cost_difference" else name.replace("_", " ")
            add(f"{name}_mean", dims, moments.mean, units, f"mean of {label}")
            add(f"{name}_variance", dims, moments.variance, f"{units}^2", f"sample variance of {label}")
        if self.service:
            for name, units in (("spend", "USD"), ("shortfall", "USD"), ("delivered_gpu_hours", "GPU-hours")):
                label = name.replace("_", " ")
                add(f"{name}_mean", s, self.moments[name].mean, units, f"mean of {label}")
                add(f"{name}_variance", s, self.moments[name].variance, f"{units}^2", f"sample variance of {label}")
            add("spend_delivered_covariance", s, self.spend_delivered.covariance, "USD GPU-hours",
                "sample covariance of spend and delivered GPU-hours")
        n = max(self.paths, 1)
        add("p_cheaper", pair, self.counts["cheaper"] / n, "1", "P(cost(strategy) < cost(versus)), ties 1/2")
        for name, label in (("late", "some run late"), ("over_budget", "cost > decision.budget_usd"),
                            ("over_capex_budget", "capex > decision.capex_budget_usd"),
                            ("on_budget_and_time", "cost <= budget and no run late"),
                            ("out_of_cash", "cash need before the raise > decision.funding_usd")):
            if name != "out_of_cash" or self.cash:
                add(f"p_{name}", s, self.counts[name] / n, "1", f"P({label})")
        if self.scrambles and "scramble_paths" in self.counts:
            paths = self.counts["scramble_paths"]
            out["stream_scramble_paths"] = (("scramble",), paths, dict(
                units="paths", long_name="paths of each qmc scramble", description="Paths i with i mod R = scramble "
                "(engine.sampling=qmc; simulator.stats.replicates)"))
            for name, (dims, units) in SCRAMBLED.items():
                if f"scramble_{name}" in self.counts:
                    means = self.counts[f"scramble_{name}"] / np.maximum(paths, 1).reshape((-1,) + (1,) * len(dims))
                    add(f"scramble_{name}_mean", ("scramble", *dims), means, units,
                        f"mean of {name.replace('_', ' ')} per qmc scramble")
        for name, sketch in self.sketches.items():
            used = np.flatnonzero(sketch.counts.any(axis=0))
            window = slice(used[0], used[-1] + 1) if used.size else slice(0, 1)
            out[f"stream_{name}_sketch"] = (("strategy", f"{name}_bucket"), sketch.counts[:, window], dict(
                units="paths", long_name=f"DDSketch histogram of {name}",
                description=f"Paths per log bucket; the coordinate {name}_bucket is each bucket's representative "
                f"value, within {sketch.relative_accuracy:g} (relative) of every value in the bucket",
                relative_accuracy=sketch.relative_accuracy, clamped=int(sketch.clamped.sum())))
            coords[f"{name}_bucket"] = sketch.representatives()[window]
        return out, coords


_DROP = object()


def _select(value, part: str | None, counter: bool):
    """``value`` if it belongs to ``part`` (see :meth:`RunStatistics.state`), a dict filtered, else ``_DROP``."""
    if isinstance(value, dict):
        return {k: v for k, v in ((k, _select(v, part, False)) for k, v in value.items()) if v is not _DROP}
    if hasattr(value, "merge"):
        kind = "exact" if getattr(value, "exact_merge", False) else "ordered"
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
        kind = "ordered"  # float sums (qmc's per-scramble sums) add exactly only in the same order
    elif isinstance(value, np.ndarray) or counter:
        kind = "exact"
    else:
        return value  # a setting
    return value if part in (None, kind) else _DROP


def _merge(mine, other, counter: bool):
    if mine is None:
        return copy.deepcopy(other)
    if other is None:
        return mine
    if isinstance(other, dict):
        out = dict(mine)
        for key, value in other.items():
            out[key] = _merge(out.get(key), value, False)
        return out
    if hasattr(other, "merge"):
        return mine.merge(other)
    if isinstance(other, np.ndarray) or counter:
        return mine + other
    if mine != other:
        raise ValueError(f"statistics with different settings cannot be merged: {mine!r} != {other!r}")
    return mine


class ChunkLog:
    """Statistics of a range of chunks that merge into *exactly* the sequential fold of every chunk of a run.

    Chan's moment merge is order-dependent in floating point, so a shard of a run keeps each chunk's own
    order-dependent accumulators (:meth:`RunStatistics.state` ``part="ordered"``, a few KB a chunk) and one exact
    total of the rest (counts and sketches add exactly). :meth:`fold_into` merges them in chunk order.
    """

    def __init__(self, empty: Callable[[], RunStatistics]):
        self.empty, self.total, self.chunks = empty, empty(), []

    def add(self, chunk: dict[str, np.ndarray]) -> None:
        delta = self.empty()
        delta.add(chunk)
        self.chunks.append(delta.state("ordered"))
        self.total.merge(delta, "exact")

    def fold_into(self, statistics: RunStatistics) -> None:
        """Merge this range into ``statistics`` (which must hold exactly the chunks before it)."""
        statistics.merge(self.total, "exact")
        for chunk in self.chunks:
            statistics.merge(RunStatistics.from_state(chunk), "ordered")

    def state(self) -> dict:
        """The total and the chunks, the chunks' arrays stacked (one array per leaf, not per chunk)."""
        encoded = [encode(chunk) for chunk in self.chunks]
        manifest = encoded[0][0] if encoded else None
        if any(m != manifest for m, _ in encoded):
            raise ValueError("chunks with different statistics cannot be stacked")
        stacked = {key: np.stack([a[key] for _, a in encoded]) for key in (encoded[0][1] if encoded else {})}
        return {"total": self.total.state(), "manifest": json.dumps(manifest), "stacked": stacked,
                "count": len(self.chunks)}

    @classmethod
    def from_state(cls, tree: dict) -> ChunkLog:
        total = RunStatistics.from_state(tree["total"])
        log = cls(total.empty_like)
        log.total, manifest = total, json.loads(tree["manifest"])
        log.chunks = [decode(manifest, {k: v[i] for k, v in tree["stacked"].items()}) for i in range(tree["count"])]
        return log


def restore(tree: dict) -> RunStatistics | ChunkLog:
    """:class:`RunStatistics` or :class:`ChunkLog` from its :meth:`state`."""
    return ChunkLog.from_state(tree) if "stacked" in tree else RunStatistics.from_state(tree)
