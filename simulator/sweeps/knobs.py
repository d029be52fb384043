"""In-engine sweeps of strategy knobs: one compiled run evaluates every value, on common random numbers.

A scenario declares, e.g.::

    sweeps:
      base_size: {strategy: hybrid, knob: pools.base.gpus, values: [0, 8, 16, 24, 32, 48]}

:func:`simulator.config.sweeps.expand_sweeps` replaces the strategy by one variant per value (``hybrid@pools.base.gpus=16``). Strategy knobs
are array data in the engine, so the whole grid runs in one compiled program with no recompile per value, and every
variant sees the same paths. :func:`sweep_dataset` adds the sweep dimension (its coordinate is the knob value) and
:func:`best_value` reports the optimum with its uncertainty; :func:`describe_knob_sweeps` says it in one line each.

Notes
-----
For values ``v_j`` with pathwise costs ``C_j(i)``, the best value minimises the mean cost. A value is *within noise*
of the best ``b`` when ``mean(C_j - C_b) <= z SE(C_j - C_b)``, with ``z`` the two-sided normal quantile of
``decision.confidence`` (1.96 at 95%; the rule of the recommendation, :func:`simulator.stats.estimators.within_noise`)
and the standard error of the pathwise difference (``sd / sqrt(n)``): small, because the variants share every draw.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simulator.config.schema import SweepConfig
from simulator.config.sweeps import variant_name
from simulator.decision.outcomes import is_streamed
from simulator.report.format import money_pm
from simulator.stats.estimators import se_from_variance, se_of_mean, within_noise


def sweep_dataset(ds: xr.Dataset, sweeps: dict[str, SweepConfig]) -> xr.Dataset:
    """Add ``sweep_<name>_cost`` (and delay) with the sweep dimension ``<name>`` (coordinate: the knob values)."""
    for name, sweep in sweeps.items():
        labels = [variant_name(sweep.strategy, sweep.knob, v) for v in sweep.values]
        for variable in ("cost", "delay"):
            da = ds[variable].sel(strategy=labels).rename(strategy=name).assign_coords({name: list(sweep.values)})
            da[name].attrs.update(long_name=f"{sweep.strategy}: {sweep.knob}")
            da.attrs = dict(ds[variable].attrs, long_name=f"{ds[variable].attrs['long_name']} over {sweep.knob}",
                            description=f"{variable} of {sweep.strategy} for each value of {sweep.knob} "
                                        "(one compiled run, common random numbers)")
            ds[f"sweep_{name}_{variable}"] = da.drop_vars("strategy", errors="ignore")
    return ds


def best_value(cost: np.ndarray, values: list[float], *, confidence: float) -> dict:
    """Best knob value by mean cost, and the values within noise of it at ``confidence``. ``cost`` is (values, paths).

    Returns ``{best, best_mean, within_noise, means, se_vs_best}`` (see the module Notes).
    """
    means = cost.mean(axis=1)
    diff = cost - cost[int(np.argmin(means))]
    se = se_of_mean(diff, axis=1)
    return _best(values, means, diff.mean(axis=1), se, confidence)


def best_value_streamed(ds: xr.Dataset, labels: list[str], values: list[float], *, confidence: float) -> dict:
    """:func:`best_value` over all paths of a streamed run, from the streamed pairwise difference moments."""
    means = ds["stream_cost_mean"].sel(strategy=labels).values
    best = labels[int(np.argmin(means))]
    pair = dict(strategy=best, versus=labels)
    se = se_from_variance(ds["stream_cost_difference_variance"].sel(**pair).values, int(ds.attrs["paths"]))
    return _best(values, means, ds["stream_cost_difference_mean"].sel(**pair).values, se, confidence)


def _best(values: list[float], means: np.ndarray, diff: np.ndarray, se: np.ndarray, confidence: float) -> dict:
    """The value of lowest mean cost, and those within noise of it: ``mean_v - mean_best <= z SE`` (pathwise)."""
    best = int(np.argmin(means))
    within = [v for v, d, s in zip(values, diff, se, strict=True) if d == 0.0 or within_noise(d, s, confidence)]
    return dict(best=values[best], best_mean=float(means[best]), within_noise=within,
                means=np.asarray(means).tolist(), se_vs_best=np.asarray(se).tolist())


def describe_knob_sweeps(ds: xr.Dataset, sweeps: dict[str, SweepConfig], *, confidence: float) -> list[str]:
    """One line per in-engine sweep: the best value, its mean cost, and the range within noise at ``confidence``."""
    lines = []
    for name, sweep in sweeps.items():
        labels = [variant_name(sweep.strategy, sweep.knob, v) for v in sweep.values]
        result = (best_value_streamed(ds, labels, list(sweep.values), confidence=confidence) if is_streamed(ds)
                  else best_value(ds[f"sweep_{name}_cost"].values, list(sweep.values), confidence=confidence))
        low, high = min(result["within_noise"]), max(result["within_noise"])
        lines.append(f"sweep {name}: {sweep.strategy} is cheapest at {sweep.knob} = {result['best']:g} "
                     f"(mean {money_pm(result['best_mean'])}); cost within noise ({confidence:.0%}) for {low:g}-{high:g}")
    return lines
