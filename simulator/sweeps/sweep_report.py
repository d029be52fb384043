"""An in-engine sweep's optimum in words and as Dataset variables (from :mod:`simulator.sweeps.optimum`).

:func:`describe_optimum` says, in one line, the optimum under the decision's objective and constraints, its objective
with SE, the set within noise of it ("pools.base.gpus from 16 to 32 is as good") and the variants that fail a
constraint, named with the constraint. :func:`optimum_dataset` adds ``sweep_<name>_<statistic>`` variables over the
sweep's knob dimensions (statistics over every path, streamed or not).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simulator.config.schema import SweepConfig
from simulator.report.format import money_pm
from simulator.sweeps.knobs import sweep_dims
from simulator.sweeps.optimum import SweepOptimum

MAX_NAMED = 6  # infeasible variants named in the line; the rest are counted

STATISTICS = {  # name: (attribute, units, description)
    "objective": ("objective", "USD", "the decision's objective of the cost of service"),
    "objective_se": ("objective_se", "USD", "Monte Carlo SE of the objective"),
    "admissible": ("admissible", "1", "meets every constraint of the decision"),
    "margin": ("margin", "USD", "objective minus the optimum's (NaN: inadmissible)"),
    "margin_se": ("margin_se", "USD", "pathwise SE of margin (common random numbers)"),
    "within_noise": ("within_noise", "1", "admissible and within noise of the optimum at decision.confidence"),
    "mean": ("mean", "USD", "mean cost of service"),
    "cvar": ("cvar", "USD", "CVaR of the cost of service at decision.level"),
    "p_late": ("p_late", "1", "P(some named run is late)"),
    "frontier": ("frontier", "1", "non-dominated in (mean cost, CVaR)"),
}


def _values_text(values: list[float], grid: list[float]) -> str:
    """``16-32`` when ``values`` are consecutive grid values, else ``0, 16, 48``."""
    ordered = sorted(set(values))
    positions = [list(grid).index(v) for v in ordered]
    if len(ordered) > 2 and positions == list(range(positions[0], positions[0] + len(ordered))) and \
            list(grid) == sorted(grid):
        return f"{ordered[0]:g}-{ordered[-1]:g}"
    return ", ".join(f"{v:g}" for v in ordered)


def describe_optimum(opt: SweepOptimum) -> str:
    """One line: the optimum, its objective (SE), the set within noise and the infeasible variants."""
    if opt.best is None:
        text = f"sweep {opt.name}: no variant of {opt.strategy} meets every constraint"
    else:
        b, near = opt.best, np.flatnonzero(opt.within_noise)
        grids = [sorted({p[j] for p in opt.points}) for j in range(len(opt.knobs))]
        ranges = "; ".join(f"{k} {_values_text([opt.points[i][j] for i in near], grids[j])}"
                           for j, k in enumerate(opt.knobs))
        text = (f"sweep {opt.name}: {opt.strategy} is best at {opt.point_text(b)} ({opt.objective_name} "
                f"{money_pm(opt.objective[b], opt.objective_se[b])}); within noise ({opt.confidence:.0%}, "
                f"{len(near)} of {len(opt.labels)} variants): {ranges}")
    failing = np.flatnonzero(~opt.admissible)
    if len(failing):
        named = [f"{','.join(f'{v:g}' for v in opt.points[i])} ({opt.excluded_because[i]})" for i in failing[:MAX_NAMED]]
        more = f" and {len(failing) - MAX_NAMED} more" if len(failing) > MAX_NAMED else ""
        text += f"; fail a constraint at ({', '.join(opt.knobs)}) = " + "; ".join(named) + more
    return text


def describe_knob_sweeps(optima: dict[str, SweepOptimum]) -> list[str]:
    """One line per in-engine sweep (:func:`describe_optimum`)."""
    return [describe_optimum(opt) for opt in optima.values()]


def optimum_dataset(ds: xr.Dataset, sweeps: dict[str, SweepConfig], optima: dict[str, SweepOptimum]) -> xr.Dataset:
    """Add ``sweep_<name>_<statistic>`` (:data:`STATISTICS`) over each sweep's knob dimensions, and the optimum's
    variant name in the attribute ``sweep_<name>_optimum`` ('' when none is admissible)."""
    all_dims = sweep_dims(sweeps)
    for name, opt in optima.items():
        dims = [all_dims[name][k] for k in opt.knobs]
        shape = [len(dict.fromkeys(p[j] for p in opt.points)) for j in range(len(dims))]
        coords = {d: np.asarray(list(dict.fromkeys(p[j] for p in opt.points))) for j, d in enumerate(dims)}
        for stat, (attribute, units, description) in STATISTICS.items():
            values = np.asarray(getattr(opt, attribute)).reshape(shape)
            ds[f"sweep_{name}_{stat}"] = xr.DataArray(values, dims=dims, coords=coords, attrs=dict(
                units=units, long_name=f"{opt.strategy}: {stat.replace('_', ' ')}", description=description))
        ds.attrs[f"sweep_{name}_optimum"] = opt.labels[opt.best] if opt.best is not None else ""
    return ds
