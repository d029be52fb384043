"""``priors.png``: one small density per effective prior, the priors that differ from the defaults highlighted.

Each panel shows the density the engine samples (:func:`simulator.config.prior_summary.frozen`, restricted to the
parameter's clip range) between its 0.5% and 99% quantiles, with P10/P50/P90 marked; a fixed prior is one line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simulator.config.correlations import flat_priors
from simulator.config.prior_summary import clip_range, frozen
from simulator.report.figures import DPI

CHANGED_COLOR, DEFAULT_COLOR = "#d62728", "#1f77b4"


def prior_density(spec, domain, ax: Axes, *, color: str = DEFAULT_COLOR, points: int = 200) -> Axes:
    """Draw the density of one prior on ``ax``: ``f(x)`` on ``[max(p0.5, low), min(p99, high)]``; a fixed prior
    (or a range of zero width) is a vertical line at its value."""
    dist, (low, high) = frozen(spec), clip_range(domain)
    if dist is None:
        ax.axvline(spec.value, color=color, lw=2)
        return ax
    a, b = max(dist.ppf(0.005), low), min(dist.ppf(0.99), high)
    if not b > a:
        ax.axvline(a, color=color, lw=2)
        return ax
    x = np.linspace(a, b, points)
    y = dist.pdf(x)
    ax.fill_between(x, y, color=color, alpha=0.35, lw=0)
    ax.plot(x, y, color=color, lw=1)
    for q in np.clip(dist.ppf([0.1, 0.5, 0.9]), low, high):
        ax.axvline(q, color=color, lw=0.6, ls="--" if q != np.clip(dist.ppf(0.5), low, high) else "-")
    return ax


def prior_grid(config, table: pd.DataFrame, columns: int = 8) -> Figure:
    """A grid of small axes, one per row of ``table`` (:func:`simulator.config.prior_summary.prior_summary`)."""
    specs = flat_priors(config)
    rows = math.ceil(len(table) / columns)
    fig = Figure(figsize=(2.1 * columns, 1.35 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (_, row) in zip(axes, table.iterrows(), strict=False):
        spec, domain = specs[row["prior"]]
        color = CHANGED_COLOR if row["changed"] else DEFAULT_COLOR
        prior_density(spec, domain, ax, color=color)
        ax.set_title(row["prior"], fontsize=6, color=color, fontweight="bold" if row["changed"] else "normal")
        ax.set_yticks([])
        ax.tick_params(labelsize=5)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_xlabel(row["units"], fontsize=5, labelpad=1)
    for ax in axes[len(table):]:
        ax.set_visible(False)
    fig.suptitle("Effective priors (red: differs from the defaults; lines: P10, P50, P90)", fontsize=9)
    return fig


def save_prior_grid(config, table: pd.DataFrame, directory: Path) -> Path:
    """Write ``directory/priors.png`` and return its path."""
    path = Path(directory) / "priors.png"
    prior_grid(config, table).savefig(path, dpi=DPI)
    return path
