"""Seaborn risk plots, one function per plot: ``f(ds, *, ax=None, **kw) -> Axes``; :func:`save_all` writes PNGs.

Costs are costs of service (spend + priced shortfall). ``excluded`` names the strategies that fail a constraint
(``analysis.metrics.index[~analysis.metrics["admissible"]]``): they are labelled ``(excluded)`` in every plot.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.axes import Axes

from simulator.decision.outcomes import is_streamed
from simulator.report.figures import MONEY, new_axes, save_figures

SIZE = (8, 4.5)  # inches


def _label(strategy, excluded: Collection[str] = ()) -> str:
    """A strategy's name in a legend or on an axis, marked when it fails a constraint."""
    return f"{strategy} (excluded)" if str(strategy) in set(excluded) else str(strategy)


def _long(ds: xr.Dataset, variable: str, excluded: Collection[str] = ()) -> pd.DataFrame:
    frame = ds[variable].to_dataframe().reset_index()[["strategy", "path", variable]]
    frame["strategy"] = [_label(s, excluded) for s in frame["strategy"]]
    return frame


def cost_distribution(ds: xr.Dataset, *, ax: Axes | None = None, excluded: Collection[str] = (), **kw) -> Axes:
    """Distribution of the present-value cost of service per strategy (violins with quartiles; P5-P95 clipped
    view); strategies in ``excluded`` are labelled so."""
    ax = new_axes(ax, SIZE)
    frame = _long(ds, "cost", excluded)
    sns.violinplot(
        data=frame,
        x="cost",
        y="strategy",
        hue="strategy",
        inner="quart",
        cut=0,
        density_norm="width",
        legend=False,
        ax=ax,
        **kw,
    )
    lo, hi = np.quantile(frame["cost"], [0.005, 0.99])
    ax.set_xlim(min(lo, 0.0), hi)
    ax.xaxis.set_major_formatter(MONEY)
    ax.set(
        xlabel="present value of the cost of service (USD), 99th percentile view",
        ylabel="",
        title=f"Cost distribution per strategy ({_paths_label(ds)})",
    )
    return ax


def _paths_label(ds: xr.Dataset) -> str:
    """``"N paths"``, or ``"first K of N paths"`` for a streamed run."""
    kept = ds.sizes["path"]
    return f"first {kept:,} of {int(ds.attrs['paths']):,} paths" if is_streamed(ds) else f"{kept:,} paths"


def delay_distribution(ds: xr.Dataset, *, ax: Axes | None = None, excluded: Collection[str] = (), **kw) -> Axes:
    """Empirical CDF of the backlog-weighted delay per strategy (log-scaled days, zero delays at the left)."""
    ax = new_axes(ax, SIZE)
    frame = _long(ds, "delay", excluded)
    frame["delay"] = frame["delay"].clip(lower=1e-3)
    sns.ecdfplot(data=frame, x="delay", hue="strategy", log_scale=True, ax=ax, **kw)
    ax.set(
        xlabel="backlog-weighted delay of demand (days; 0 shown at 0.001)",
        ylabel="fraction of paths",
        title="Delay distribution per strategy",
    )
    return ax


def cost_fan_chart(
    ds: xr.Dataset, *, ax: Axes | None = None, band: tuple[float, float] = (0.05, 0.95), excluded: Collection[str] = ()
) -> Axes:
    """Cumulative present-value cost over time: median line and ``band`` quantile ribbon per strategy (dashed for a
    strategy in ``excluded``)."""
    return _fan_chart(ds, "cumulative_cost", "cumulative cost (PV, USD)", "Cumulative cost", ax=ax, band=band,
                      excluded=excluded)


def cash_fan_chart(
    ds: xr.Dataset, *, ax: Axes | None = None, band: tuple[float, float] = (0.05, 0.95), excluded: Collection[str] = ()
) -> Axes:
    """Cumulative undiscounted spend over time (the cash the plan needs): median and ``band`` ribbon per strategy."""
    return _fan_chart(ds, "cumulative_cash", "cumulative cash spent (undiscounted, USD)", "Cash spent", ax=ax,
                      band=band, excluded=excluded)


def _fan_chart(ds: xr.Dataset, variable: str, ylabel: str, title: str, *, ax: Axes | None,
               band: tuple[float, float], excluded: Collection[str]) -> Axes:
    """A monthly trajectory ``variable``: median line and ``band`` quantile ribbon per strategy."""
    ax = new_axes(ax, SIZE)
    palette = sns.color_palette(n_colors=ds.sizes["strategy"])
    months = ds["month"].values
    for color, strategy in zip(palette, ds["strategy"].values, strict=True):
        cumulative = ds[variable].sel(strategy=strategy).values  # (trajectory_path, month)
        lo, mid, hi = np.quantile(cumulative, [band[0], 0.5, band[1]], axis=0)
        ax.fill_between(months, lo, hi, color=color, alpha=0.2, linewidth=0)
        sns.lineplot(x=months, y=mid, color=color, label=_label(strategy, excluded), ax=ax,
                     linestyle="--" if str(strategy) in set(excluded) else "-")
    ax.yaxis.set_major_formatter(MONEY)
    ax.set(
        xlabel="month",
        ylabel=ylabel,
        title=f"{title}: median and {band[0]:.0%}-{band[1]:.0%} band "
        f"({ds.sizes['trajectory_path']:,} paths)",
    )
    return ax


PLOTS = {
    "cost_distribution": cost_distribution,
    "delay_distribution": delay_distribution,
    "cost_fan_chart": cost_fan_chart,
    "cash_fan_chart": cash_fan_chart,
}
TRAJECTORY_OF = {"cost_fan_chart": "cumulative_cost", "cash_fan_chart": "cumulative_cash"}  # skipped when absent


def save_all(ds: xr.Dataset, directory: Path, *, excluded: Collection[str] = ()) -> list[Path]:
    """Draw every plot of :data:`PLOTS` and save it as ``directory/NAME.png``; ``excluded``: strategies that fail a
    constraint, labelled so."""
    drawn = {name: plot for name, plot in PLOTS.items() if TRAJECTORY_OF.get(name, "cost") in ds}
    return save_figures(((name, lambda plot=plot: plot(ds, excluded=excluded)) for name, plot in drawn.items()),
                        directory)
