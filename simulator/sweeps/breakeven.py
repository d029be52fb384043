"""Break-even points of a sweep: where the best strategy changes along a swept axis, and how sure that is.

Pure functions on the combined sweep Dataset of :mod:`simulator.sweeps.multirun` (dims: the swept keys and ``strategy``;
``objective``, ``objective_se``, ``admissible`` per cell and strategy; ``best`` per cell), plus the
``sweep_summary.md`` text. The interpolation is linear between neighbouring grid values, so a break-even point is
exact when both objectives are linear in the swept value between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from simulator.report.format import money_pm, value_label
from simulator.stats.estimators import z_value


@dataclass(frozen=True)
class Crossing:
    """Where ``after`` replaces ``before`` as the best strategy along ``axis`` (the other axes at ``at``)."""

    axis: str
    at: dict
    before: str
    after: str
    x: float  # interpolated break-even value; nan when a constraint, not the objective, makes the switch
    low: float  # range of x where the two are within noise (|d| < z SE); nan if unknown
    high: float
    bracket: tuple  # the two grid values around the switch
    reason: str  # "objective" or "constraint"


def zero_crossings(x, d) -> np.ndarray:
    """Every ``x`` where the piecewise-linear interpolant of ``d(x)`` crosses zero.

    Notes
    -----
    Between grid values ``x_i < x_{i+1}`` with ``d_i d_{i+1} < 0`` (or ``d_i = 0``), the interpolant
    ``d(x) = d_i + (d_{i+1} - d_i)(x - x_i)/(x_{i+1} - x_i)`` vanishes at

    .. math:: x^* = x_i + (x_{i+1} - x_i)\\,\\frac{d_i}{d_i - d_{i+1}},

    exact when ``d`` is linear on the interval (e.g. the cost difference of renting and owning as a function of the
    utilisation or the hourly price). NaN values of ``d`` break the interpolant.
    """
    x, d = np.asarray(x, dtype=float), np.asarray(d, dtype=float)
    out = [x[i] for i in range(len(x)) if d[i] == 0.0]
    for i in range(len(x) - 1):
        if np.isfinite(d[i]) and np.isfinite(d[i + 1]) and d[i] * d[i + 1] < 0:
            out.append(x[i] + (x[i + 1] - x[i]) * d[i] / (d[i] - d[i + 1]))
    return np.sort(np.asarray(out, dtype=float))


def noise_interval(x, d, se, x_star: float, z: float) -> tuple[float, float]:
    """The range around ``x_star`` where ``|d(x)| < z se(x)`` (both interpolated linearly): the break-even point's
    uncertainty band. Its ends are the zero crossings of ``d - z se`` and ``d + z se`` nearest ``x_star``; an end
    that does not cross within the grid is the grid's end (open: the sweep does not resolve it)."""
    x, d, se = (np.asarray(a, dtype=float) for a in (x, d, se))
    ends = np.concatenate([zero_crossings(x, d - z * se), zero_crossings(x, d + z * se)])
    below, above = ends[ends <= x_star], ends[ends >= x_star]
    return (
        float(below.max()) if below.size else float(x[0]),
        float(above.min()) if above.size else float(x[-1]),
    )


def crossings(ds: xr.Dataset, axis: str, *, confidence: float = 0.95) -> list[Crossing]:
    """Every change of the best admissible strategy along a numeric ``axis``, for each value of the other axes.

    The objectives of the two strategies are compared with the unpaired SE ``sqrt(SE_a**2 + SE_b**2)`` (the paired
    SE is smaller under common random numbers, so the band is conservative). A switch where either strategy is
    inadmissible on one side is reported as a constraint, with no interpolated value.
    """
    z = z_value(confidence)
    others = [k for k in ds["best"].dims if k != axis]
    stacked = ds.stack(_slice=others) if others else ds.expand_dims(_slice=[0])
    x = ds[axis].values.astype(float)
    out = []
    for s in range(stacked.sizes["_slice"]):
        cell = stacked.isel(_slice=s)
        at = {k: cell[k].item() for k in others}
        best = [str(b) for b in cell["best"].values]
        for i in range(len(x) - 1):
            a, b = best[i], best[i + 1]
            if a == b or not a or not b:
                continue
            both = bool(cell["admissible"].sel(strategy=[a, b]).isel({axis: [i, i + 1]}).all())
            if not both:
                out.append(Crossing(axis, at, a, b, np.nan, np.nan, np.nan, (x[i], x[i + 1]), "constraint"))
                continue
            d = (cell["objective"].sel(strategy=b) - cell["objective"].sel(strategy=a)).values
            se = np.hypot(
                cell["objective_se"].sel(strategy=a).values, cell["objective_se"].sel(strategy=b).values
            )
            roots = zero_crossings(x[i : i + 2], d[i : i + 2])
            x_star = float(roots[0]) if roots.size else np.nan
            low, high = noise_interval(x, d, se, x_star, z) if roots.size else (np.nan, np.nan)
            out.append(Crossing(axis, at, a, b, x_star, low, high, (x[i], x[i + 1]), "objective"))
    return out


def describe_crossing(c: Crossing) -> str:
    """One sentence, e.g. ``base=384: on_demand -> hybrid at price = 3.1 (within noise 2.9-3.4)``."""
    where = ", ".join(f"{k}={value_label(v)}" for k, v in c.at.items())
    head = f"{where}: " if where else ""
    if c.reason == "constraint":
        return (
            f"{head}{c.before} -> {c.after} between {c.axis} = {value_label(c.bracket[0])} and {value_label(c.bracket[1])} "
            f"(a constraint, not the objective: one of them is inadmissible on one side)"
        )
    return (
        f"{head}{c.before} -> {c.after} at {c.axis} = {value_label(c.x)} "
        f"(within noise {value_label(c.low)} to {value_label(c.high)})"
    )


def sweep_summary_markdown(ds: xr.Dataset, *, failed: str = "none", plots: list[str] | None = None) -> str:
    """``sweep_summary.md``: the grid, the best strategy per cell count, and every break-even point."""
    keys = list(ds["job"].dims)
    confidence = float(ds.attrs.get("confidence", 0.95))
    lines = [
        "# Sweep summary",
        "",
        (f"Swept: {', '.join(f'`{k}` ({ds.sizes[k]} values)' for k in keys)}; " if "trial" not in ds.dims else
         f"Trials of an optimising sweeper over {', '.join(f'`{k}`' for k in ds.attrs['swept_keys'].split(','))}; ")
        + f"{int(ds['completed'].sum())} of {int(ds['completed'].size)} cells completed.",
        "",
    ]
    best = [str(b) for b in ds["best"].values.ravel() if str(b)] if "best" in ds else []
    if best:
        names, counts = np.unique(best, return_counts=True)
        ratio = (ds["margin"] / ds["margin_se"]).values.ravel()
        z = z_value(confidence)
        noisy = int(np.sum(np.isfinite(ratio) & (ratio < z)))
        cells = ", ".join(f"{n} in {c} cells" for n, c in zip(names, counts, strict=True))
        lines += [f"Best admissible strategy: {cells}; within noise (margin < {z:.2f} SE) in {noisy}.", ""]
    if "trial" in ds.dims:  # an optimising sweeper's trials (Optuna): no grid to interpolate on
        return "\n".join(lines + trials_markdown(ds) + ["", f"Failed jobs (left out): {failed}", ""])
    lines += ["## Break-even points", ""]
    found = False
    for axis in keys:
        if not best:
            break
        if ds[axis].dtype.kind not in "fiu" or ds.sizes[axis] < 2:
            lines.append(f"- `{axis}`: not numeric or a single value, no interpolation")
            continue
        for c in crossings(ds, axis, confidence=confidence):
            lines.append(f"- {describe_crossing(c)}")
            found = True
    if not found:
        lines.append("- the best strategy does not change along any swept axis")
    lines += ["", f"Failed jobs (left out): {failed}", ""]
    if plots:
        lines += ["Plots: " + ", ".join(plots), ""]
    return "\n".join(lines)


def trials_markdown(ds: xr.Dataset, *, top: int = 10) -> list[str]:
    """The trials of an optimising sweeper (dims ``trial``), best first by ``value`` (the job's value that the
    sweeper minimised: :func:`simulator.sweeps.multirun.job_value`; ``inf``: the optimised strategy failed a
    constraint; NaN: the job failed)."""
    keys = [k for k in ds.attrs.get("swept_keys", "").split(",") if k in ds.coords]
    order = np.argsort(np.where(np.isnan(ds["value"].values), np.inf, ds["value"].values), kind="stable")
    header = ["trial", *[f"`{k}`" for k in keys], "value", "best strategy"]
    rows = [[str(int(ds["trial"].values[i])), *[value_label(ds[k].values[i]) for k in keys],
             "infeasible" if np.isposinf(ds["value"].values[i]) else money_pm(float(ds["value"].values[i])),
             str(ds["best"].values[i]) if "best" in ds else ""] for i in order[:top]]
    feasible = np.isfinite(ds["value"].values)
    lines = ["## Optimisation trials", "",
             f"{int(feasible.sum())} of {ds.sizes['trial']} trials feasible (the optimised strategy meets every "
             f"constraint); the {min(top, len(order))} best:", ""]
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"] + ["| " + " | ".join(r) + " |" for r in rows]
    return lines
