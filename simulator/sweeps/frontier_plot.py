"""The efficient frontier of an in-engine sweep: ``frontier_<sweep>.png`` (seaborn).

Every variant as a point, mean cost of service (x) against its ``CVaR_level`` (left panel) and, when the scenario has
named runs, against ``P(late)`` (right panel); the non-dominated variants (:mod:`simulator.sweeps.optimum`) joined by
the frontier line, the optimum under the decision starred, and a variant that fails a constraint hollow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulator.report.figures import MONEY, new_axes, save_figures
from simulator.sweeps.optimum import SweepOptimum

MAX_LABELS = 12  # frontier points labelled with their knob values


def _frame(opt: SweepOptimum, against: str) -> pd.DataFrame:
    tail = opt.cvar if against == "cvar" else opt.p_late
    on = opt.frontier if against == "cvar" else opt.frontier_late
    return pd.DataFrame(dict(
        mean=opt.mean, tail=tail, frontier=on, admissible=opt.admissible,
        variant=[",".join(f"{v:g}" for v in p) for p in opt.points],
        status=np.where(~opt.admissible, "fails a constraint", np.where(on, "frontier", "dominated"))))


def frontier_plot(opt: SweepOptimum, *, against: str = "cvar", ax: Axes | None = None) -> Axes:
    """Mean cost against CVaR (``against="cvar"``) or P(late) (``"p_late"``) of a sweep's variants, the frontier
    joined and labelled with its knob values, the optimum starred."""
    ax = new_axes(ax, (7, 5))
    frame = _frame(opt, against)
    palette = {"frontier": "tab:blue", "dominated": "0.6", "fails a constraint": "tab:red"}
    sns.scatterplot(frame, x="mean", y="tail", hue="status", palette=palette, style="status",
                    markers={"frontier": "o", "dominated": "o", "fails a constraint": "X"}, s=60, ax=ax,
                    legend="brief")
    line = frame[frame["frontier"]].sort_values("mean")
    ax.plot(line["mean"], line["tail"], color="tab:blue", lw=1.2, zorder=1)
    for _, row in line.head(MAX_LABELS).iterrows():
        ax.annotate(row["variant"], (row["mean"], row["tail"]), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    if opt.best is not None:
        ax.scatter([opt.mean[opt.best]], [frame["tail"][opt.best]], marker="*", s=260, color="gold",
                   edgecolor="black", zorder=3, label=f"optimum ({opt.objective_name})")
    ax.xaxis.set_major_formatter(MONEY)
    if against == "cvar":
        ax.yaxis.set_major_formatter(MONEY)
    ax.set_xlabel("mean cost of service")
    ax.set_ylabel(f"CVaR{round(100 * opt.level)} of the cost of service" if against == "cvar" else "P(late)")
    ax.set_title(f"{opt.strategy}: {' x '.join(opt.knobs)}", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return ax


def save_frontier_plots(optima: dict[str, SweepOptimum], directory: Path) -> list[Path]:
    """``frontier_<sweep>.png`` for each sweep of at least two variants."""

    def draw(opt: SweepOptimum):
        panels = ["cvar"] + (["p_late"] if opt.frontier_late is not None else [])
        fig = Figure(figsize=(7 * len(panels), 5), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)
        for ax, against in zip(axes[0], panels, strict=True):
            frontier_plot(opt, against=against, ax=ax)
        fig.suptitle(f"Efficient frontier of sweep {opt.name}")
        return fig

    return save_figures([(f"frontier_{name}", lambda opt=opt: draw(opt)) for name, opt in optima.items()
                         if len(opt.labels) > 1], directory)
