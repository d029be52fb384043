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
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simulator.config.schema import SweepConfig
from simulator.config.sweeps import sweep_knobs, sweep_labels


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
