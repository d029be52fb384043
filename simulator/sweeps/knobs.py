"""In-engine sweeps of strategy knobs: one compiled run evaluates every grid point, on common random numbers.

A scenario declares, e.g.::

    sweeps:
      base_size: {strategy: hybrid, knob: pools.base.gpus, values: [0, 8, 16, 24, 32, 48]}
      grid: {strategy: hybrid, knobs: {pools.base.gpus: [0, 16, 32], expansion.gpus: [8, 16]}}

:func:`simulator.config.sweeps.expand_sweeps` replaces the strategy by one variant per grid point
(``hybrid@pools.base.gpus=16,expansion.gpus=8``). Strategy knobs are array data in the engine, so the whole grid runs
in one compiled program with no recompile per value, and every variant sees the same paths. :func:`sweep_dataset`
adds ``sweep_<name>_cost`` and ``sweep_<name>_delay`` with one dimension per knob (its coordinate: the knob's values)
before ``path``. A dimension is named after its knob (``pools.base.gpus``), shared by the sweeps that give that knob
the same values; a knob two sweeps give different values gets ``<sweep>:<knob>`` in each. The optimum under the
decision's objective and constraints, the set within noise and the efficient frontier are in
:mod:`simulator.sweeps.optimum`.

Notes
-----
:func:`best_value` (the mean-cost optimum of one knob, kept for its callers): for values ``v_j`` with pathwise costs
``C_j(i)``, the best value minimises the mean cost; a value is *within noise* of the best ``b`` when
``mean(C_j - C_b) <= z SE(C_j - C_b)``, ``z`` the two-sided normal quantile of ``decision.confidence``, the SE that
of the pathwise difference (``sd / sqrt(n)``): small, because the variants share every draw.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simulator.config.schema import SweepConfig
from simulator.config.sweeps import sweep_knobs, sweep_labels
from simulator.stats.estimators import se_from_variance, se_of_mean, within_noise


def sweep_dims(sweeps: dict[str, SweepConfig]) -> dict[str, dict[str, str]]:
    """``{sweep: {knob: dimension name}}``: the knob's path, or ``<sweep>:<knob>`` where sweeps disagree on its
    values."""
    grids = {name: sweep_knobs(sweep, f"sweeps.{name}") for name, sweep in sweeps.items()}
    seen: dict[str, set] = {}
    for grid in grids.values():
        for knob, values in grid.items():
            seen.setdefault(knob, set()).add(tuple(values))
    return {name: {knob: knob if len(seen[knob]) == 1 else f"{name}:{knob}" for knob in grid}
            for name, grid in grids.items()}


def grid_array(da: xr.DataArray, sweep: SweepConfig, dims: dict[str, str], name: str) -> xr.DataArray:
    """``da`` (with a ``strategy`` dimension over the sweep's variants, in grid order) reshaped to one dimension per
    knob, in the order the knobs were given."""
    grid = sweep_knobs(sweep, f"sweeps.{name}")
    da = da.transpose("strategy", ...)
    shape = [len(v) for v in grid.values()]
    coords = {dims[k]: (dims[k], np.asarray(v), {"long_name": f"{sweep.strategy}: {k}"}) for k, v in grid.items()}
    coords |= {d: da[d] for d in da.dims[1:] if d in da.coords}
    return xr.DataArray(da.values.reshape(shape + list(da.shape[1:])), dims=[dims[k] for k in grid] + list(da.dims[1:]),
                        coords=coords, attrs=dict(da.attrs))


def sweep_dataset(ds: xr.Dataset, sweeps: dict[str, SweepConfig]) -> xr.Dataset:
    """Add ``sweep_<name>_cost`` and ``sweep_<name>_delay``, dims ``(knob, ..., path)`` (the kept paths of a streamed
    run; its statistics over every path are the ``sweep_<name>_*`` summaries of :mod:`simulator.sweeps.optimum`)."""
    all_dims = sweep_dims(sweeps)
    for name, sweep in sweeps.items():
        labels, knobs = sweep_labels(sweep, f"sweeps.{name}"), " x ".join(all_dims[name])
        for variable in ("cost", "delay"):
            da = grid_array(ds[variable].sel(strategy=labels), sweep, all_dims[name], name)
            da.attrs = dict(ds[variable].attrs, long_name=f"{ds[variable].attrs['long_name']} over {knobs}",
                            description=f"{variable} of {sweep.strategy} at each grid point of {knobs} "
                                        "(one compiled run, common random numbers)")
            ds[f"sweep_{name}_{variable}"] = da
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



