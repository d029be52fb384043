"""Seaborn/matplotlib plots of a Hydra multirun: the decision map and the break-even curves.

Drawn from the combined sweep Dataset of :mod:`simulator.sweeps.multirun`; one function per plot, ``f(ds, *, ax=None, **kw)
-> Axes``, and :func:`save_sweep_plots` writes ``decision_map.png`` and ``break_even.png`` into the sweep directory.
Bands and the "within noise" shading use ``z`` standard errors, ``z = Phi^-1((1 + confidence)/2)`` (1.96 at 95%).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import seaborn as sns
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from simulator.report.figures import MONEY, save_figures
from simulator.report.format import value_label
from simulator.stats.estimators import z_value
from simulator.sweeps.breakeven import crossings

MAX_PANELS = 12


def _palette(ds: xr.Dataset) -> dict[str, tuple]:
    names = [str(s) for s in ds["strategy"].values]
    return dict(zip(names, sns.color_palette(n_colors=len(names)), strict=True))


def _slices(ds: xr.Dataset, keep: list[str]) -> list[dict]:
    """Every combination of the axes not in ``keep`` (at most MAX_PANELS), as ``isel`` dicts."""
    rest = [k for k in ds["best"].dims if k not in keep]
    combos = [dict(zip(rest, c, strict=True)) for c in itertools.product(*(range(ds.sizes[k]) for k in rest))]
    return combos[:MAX_PANELS]


def _title(ds: xr.Dataset, where: dict) -> str:
    return ", ".join(f"{k} = {value_label(ds[k].values[i])}" for k, i in where.items())


def decision_map(
    cells: xr.Dataset, *, ax: Axes | None = None, confidence: float = 0.95, palette: dict | None = None
) -> Axes:
    """Best admissible strategy per cell over one (a strip) or two swept axes, shaded by its margin.

    A solid cell: the best beats the runner-up by more than ``z`` SEs, its colour the deeper the larger the margin
    relative to the best objective, ``m / J_best`` (saturating at 50%); pale and hatched: within noise. Each cell is
    labelled with ``m / J_best`` and ``m / SE``. With two axes the zero contour of ``J(B) - J(A)`` for the two strategies that
    are best most often is drawn (linear interpolation between grid values, as in :mod:`simulator.sweeps.breakeven`).
    """
    dims = list(cells["best"].dims)
    if ax is None:
        ax = Figure(figsize=(8, 2.2 if len(dims) == 1 else 6), layout="constrained").subplots()
    palette = palette or _palette(cells)
    xdim, ydim = dims[0], (dims[1] if len(dims) > 1 else None)
    order = [ydim, xdim] if ydim else [xdim]
    best = np.atleast_2d(cells["best"].transpose(*order).values)
    ratio = np.atleast_2d((cells["margin"] / cells["margin_se"]).transpose(*order).values)
    done = np.atleast_2d(cells["completed"].transpose(*order).values)
    margin = np.atleast_2d(cells["margin"].transpose(*order).values)
    objective = cells["objective"].transpose(*order, "strategy")
    z = z_value(confidence)
    for (j, i), name in np.ndenumerate(best):
        name = str(name)
        clear = bool(np.isfinite(ratio[j, i]) and ratio[j, i] >= z) or (name and not np.isfinite(ratio[j, i]))
        color = palette.get(name, (0.85, 0.85, 0.85)) if done[j, i] else (1.0, 1.0, 1.0)
        relative = np.nan
        if done[j, i] and name in cells["strategy"].values:
            cell = objective.values[(j, i) if ydim else (i,)]
            relative = margin[j, i] / abs(cell[list(cells["strategy"].values).index(name)])
        shade = 0.35 + 0.65 * min(1.0, relative / 0.5) if np.isfinite(relative) else 1.0
        ax.add_patch(
            Rectangle(
                (i - 0.5, j - 0.5),
                1,
                1,
                facecolor=color,
                alpha=shade if clear else 0.3,  # deeper colour: larger margin relative to the best's objective
                hatch=None if clear else "//",
                edgecolor="white" if clear else "0.3",  # the hatch takes the edge colour
                lw=1.5 if clear else 0.5,
            )
        )
        label = (
            "failed"
            if not done[j, i]
            else "none admissible"
            if not name
            else f"{name}\nby {relative:.0%}, {ratio[j, i]:.1f} SE"
            if np.isfinite(ratio[j, i]) and np.isfinite(relative)
            else f"{name}\n{ratio[j, i]:.1f} SE"
            if np.isfinite(ratio[j, i])
            else name
        )
        ax.text(i, j, label, ha="center", va="center", fontsize=8)
    if ydim and best.shape[0] > 1 and best.shape[1] > 1:
        _zero_contour(cells, ax, xdim, ydim)
    ax.set_xlim(-0.5, best.shape[1] - 0.5)
    ax.set_ylim(-0.5, best.shape[0] - 0.5)
    ax.set_xticks(range(best.shape[1]), [value_label(v) for v in cells[xdim].values])
    ax.set_xlabel(xdim)
    if ydim:
        ax.set_yticks(range(best.shape[0]), [value_label(v) for v in cells[ydim].values])
        ax.set_ylabel(ydim)
    else:
        ax.set_yticks([])
    present = [n for n in palette if n in {str(b) for b in best.ravel()}]
    handles = [Patch(facecolor=palette[n], label=n) for n in present]
    handles.append(
        Patch(facecolor="white", edgecolor="grey", hatch="//", label=f"within noise (< {z:.2f} SE)")
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


def _zero_contour(cells: xr.Dataset, ax: Axes, xdim: str, ydim: str) -> None:
    """Zero contour of ``J(B) - J(A)`` for the two most frequent best strategies (where both are admissible)."""
    names, counts = np.unique([str(b) for b in cells["best"].values.ravel() if str(b)], return_counts=True)
    if len(names) < 2:
        return
    a, b = names[np.argsort(-counts)[:2]]
    both = cells["admissible"].sel(strategy=[a, b]).all("strategy")
    d = (cells["objective"].sel(strategy=b) - cells["objective"].sel(strategy=a)).where(both)
    d = d.transpose(ydim, xdim).values
    if np.isfinite(d).sum() < 4 or np.nanmin(d) >= 0 or np.nanmax(d) <= 0:
        return
    grid_x, grid_y = np.meshgrid(np.arange(d.shape[1]), np.arange(d.shape[0]))
    contour = ax.contour(grid_x, grid_y, np.ma.masked_invalid(d), levels=[0.0], colors="black", linewidths=2)
    ax.clabel(contour, fmt={0.0: f"{a} = {b}"}, fontsize=8)


def break_even_curves(
    line: xr.Dataset,
    axis: str,
    *,
    ax: Axes | None = None,
    confidence: float = 0.95,
    palette: dict | None = None,
) -> Axes:
    """Each strategy's objective against one swept ``axis`` with ``z``-SE bands; hollow markers: inadmissible.

    Dashed lines mark the interpolated break-even points where the best strategy changes (grey span: the range
    within noise, :func:`simulator.sweeps.breakeven.noise_interval`).
    """
    if ax is None:
        ax = Figure(figsize=(7, 4.5), layout="constrained").subplots()
    palette = palette or _palette(line)
    z = z_value(confidence)
    numeric = line[axis].dtype.kind in "fiu"
    x = line[axis].values.astype(float) if numeric else np.arange(line.sizes[axis])
    for name in line["strategy"].values:
        name = str(name)
        y = line["objective"].sel(strategy=name).values.astype(float)
        se = line["objective_se"].sel(strategy=name).values.astype(float)
        ok = line["admissible"].sel(strategy=name).values.astype(bool)
        color = palette[name]
        ax.plot(x, y, "-", color=color, label=name)
        ax.fill_between(x, y - z * se, y + z * se, color=color, alpha=0.2, lw=0)
        ax.plot(x[ok], y[ok], "o", color=color, ms=6)
        ax.plot(x[~ok], y[~ok], "o", color=color, mfc="white", mew=1.5, ms=6)
    if numeric and line.sizes[axis] > 1:
        for c in crossings(line, axis, confidence=confidence):
            if c.reason == "objective" and np.isfinite(c.x):
                ax.axvspan(c.low, c.high, color="grey", alpha=0.12, lw=0)
                ax.axvline(c.x, color="black", ls="--", lw=1)
                ax.annotate(
                    f"{c.after}\nfrom {value_label(c.x)}",
                    (c.x, 0.98),
                    xycoords=("data", "axes fraction"),
                    ha="left",
                    va="top",
                    fontsize=7,
                )
        if x.min() > 0 and x.max() / x.min() >= 8:
            ax.set_xscale("log")
            ax.set_xticks(x, [value_label(v) for v in x])
            ax.minorticks_off()
    else:
        ax.set_xticks(x, [value_label(v) for v in line[axis].values])
    ax.yaxis.set_major_formatter(MONEY)
    ax.set_xlabel(axis)
    ax.set_ylabel("objective (hollow: fails a constraint)")
    return ax


def save_sweep_plots(ds: xr.Dataset, directory: Path, *, confidence: float = 0.95) -> list[Path]:
    """``decision_map.png`` (first two swept axes; one panel per value of the others) and ``break_even.png`` (one
    row per swept axis, one panel per value of the other axes)."""
    palette = _palette(ds)
    return save_figures(
        [
            ("decision_map", lambda: _decision_map_figure(ds, palette, confidence)),
            ("break_even", lambda: _break_even_figure(ds, palette, confidence)),
        ],
        directory,
        theme=False,
    )


def _decision_map_figure(ds: xr.Dataset, palette: dict, confidence: float) -> Figure:
    keys = list(ds["best"].dims)
    panels = _slices(ds, keys[:2])
    fig = Figure(figsize=(9, (2.4 if len(keys) == 1 else 5.5) * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)
    for ax, where in zip(axes[:, 0], panels, strict=True):
        decision_map(ds.isel(where), ax=ax, confidence=confidence, palette=palette)
        ax.set_title(("Best admissible strategy; " + _title(ds, where)).rstrip("; "), fontsize=10)
    return fig


def _break_even_figure(ds: xr.Dataset, palette: dict, confidence: float) -> Figure:
    rows = [(axis, _slices(ds, [axis])) for axis in ds["best"].dims]
    ncols = max(len(r[1]) for r in rows)
    fig = Figure(figsize=(4.2 * ncols + 1, 3.6 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (axis, slices) in enumerate(rows):
        for c in range(ncols):
            if c >= len(slices):
                axes[r, c].set_visible(False)
                continue
            break_even_curves(ds.isel(slices[c]), axis, ax=axes[r, c], confidence=confidence, palette=palette)
            axes[r, c].set_title(_title(ds, slices[c]), fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False)
    return fig
