"""Seaborn plots of the decision: risk maps, pairwise win probabilities, cost decomposition, tornado, indices.

Costs are costs of service (spend + priced shortfall). A strategy that fails a constraint is marked in every plot:
hollow on the risk maps, greyed out and labelled ``(excluded)`` in the win matrix (its cells are masked, so it is
never a pairwise winner) and in the cost decomposition.

One function per plot, ``f(frame(s), *, ax=None, **kw) -> Axes``, drawn from the frames of
:class:`simulator.decision.analyse.Analysis`; :data:`DECISION_PLOTS` maps each PNG name to its function and the frames it
takes, and :func:`save_decision_plots` writes them next to the distribution plots of :mod:`simulator.report.plots`.
Error bars are ``z`` standard errors at ``decision.confidence`` (``z = 1.96`` at 95%).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from simulator.report.figures import MONEY, new_axes, save_figures
from simulator.report.format import money_pm, value_label
from simulator.stats.estimators import z_value

EXCLUDED = " (excluded)"  # after the name of a strategy that fails a constraint
LABELS = {
    "cost_mean": "expected cost of service (PV, USD)",
    "cost_cvar": "CVaR of the cost of service: mean of the worst tail (PV, USD)",
    "cost_var": "VaR of the cost of service (PV, USD)",
    "cost_p95": "P95 cost of service (PV, USD)",
    "p_late": "P(a training run is late)",
    "delay_mean": "mean delay of steady work (days)",
}


def risk_map(
    metrics: pd.DataFrame, *, ax: Axes | None = None, x: str = "cost_mean", y: str = "cost_cvar", **kw
) -> Axes:
    """Each strategy at (``x``, ``y``) with ``z``-SE error bars; hollow markers: excluded by a constraint."""
    ax = new_axes(ax)
    confidence = metrics.attrs.get("confidence", 0.95)
    z = z_value(confidence)
    palette = dict(zip(metrics.index, sns.color_palette(n_colors=len(metrics)), strict=True))
    for name, row in metrics.iterrows():
        admissible = bool(row.get("admissible", True))
        color = palette[name]
        ax.errorbar(
            row[x],
            row[y],
            xerr=z * row.get(f"{x}_se", 0.0),
            yerr=z * row.get(f"{y}_se", 0.0),
            fmt="o",
            ms=9,
            color=color,
            mfc=color if admissible else "white",
            mew=2,
            capsize=4,
            **kw,
        )
        label = f"{name}" if admissible else f"{name} (fails a constraint)"
        ax.plot([], [], "o", ms=9, color=color, mfc=color if admissible else "white", mew=2, label=label)
    for axis, column in ((ax.xaxis, x), (ax.yaxis, y)):
        if column.startswith("cost"):
            axis.set_major_formatter(MONEY)
        elif column.startswith("p_"):
            axis.set_major_formatter(PercentFormatter(1.0))
    level = metrics.attrs.get("level", 0.95)
    ax.set(
        xlabel=LABELS.get(x, x),
        ylabel=LABELS.get(y, y).replace("CVaR", f"CVaR{round(100 * level)}"),
        title=f"Risk map: lower-left is better (bars: {confidence:.0%} CI; hollow: fails a constraint)",
    )
    ax.legend(loc="best", fontsize=9, title="strategy", title_fontsize=9)
    ax.margins(0.12)
    return ax


def win_probability_heatmap(win: pd.DataFrame, win_se: pd.DataFrame, *, ax: Axes | None = None, **kw) -> Axes:
    """Pairwise ``P(row cheaper than column)`` over paths (common random numbers), annotated with its SE.

    Rows and columns of strategies that fail a constraint (NaN cells, ``win.attrs["inadmissible"]``) are grey,
    annotated "excluded" and their names marked: an inadmissible strategy is never shown winning a pair.
    """
    n = len(win)
    ax = new_axes(ax, size=(1.6 * n + 3, 1.2 * n + 2))
    excluded = set(win.attrs.get("inadmissible", []))
    text = (win.map(lambda p: f"{p:.2f}") + "\n± " + win_se.map(lambda s: f"{s:.3f}")).to_numpy(dtype=object)
    np.fill_diagonal(text, "")
    ax.set_facecolor("0.85")  # masked (NaN) cells show the background
    labels = [f"{name}{EXCLUDED}" if name in excluded else str(name) for name in win.index]
    sns.heatmap(
        win.set_axis(labels, axis=0).set_axis(labels, axis=1),
        annot=text,
        fmt="",
        vmin=0.0,
        vmax=1.0,
        cmap="RdBu",
        center=0.5,
        square=True,
        cbar_kws={"label": "P(row cheaper than column)"},
        linewidths=0.5,
        ax=ax,
        **kw,
    )
    ax.grid(False)
    for i, j in zip(*np.nonzero(~np.isfinite(win.to_numpy(dtype=float))), strict=True):
        if i != j:  # seaborn does not annotate masked cells
            ax.text(j + 0.5, i + 0.5, "excluded", ha="center", va="center", color="0.35", fontsize=9)
    title = "P(row has the lower cost of service than column), pathwise"
    ax.set(xlabel="column strategy", ylabel="row strategy",
           title=title + ("\ngrey: fails a constraint, not compared" if excluded else ""))
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)
    return ax


def cost_decomposition(
    categories: pd.DataFrame, admissible: pd.Series | None = None, *, ax: Axes | None = None, **kw
) -> Axes:
    """Mean cost of service per strategy as stacked horizontal bars: spend categories solid from zero (credits such
    as resale to the left), the shortfall categories (``categories.attrs["shortfall"]``) hatched on top of the spend.

    A black tick marks each strategy's total (the mean cost of service); strategies that fail a constraint
    (``admissible`` False) are faded and marked ``(excluded)``.
    """
    shortfall = [c for c in categories.attrs.get("shortfall", []) if c in categories.columns]
    spend = [c for c in categories.columns if c not in shortfall]
    used = [c for c in (*spend, *shortfall) if np.any(np.abs(categories[c].to_numpy()) > 0)]
    ax = new_axes(ax, size=(10, 1.8 + 0.55 * len(categories)))
    palette = dict(zip(used, sns.color_palette("tab20", n_colors=max(len(used), 1)), strict=False))
    keep = pd.Series(True, index=categories.index) if admissible is None else admissible.reindex(categories.index)
    positions = np.arange(len(categories))[::-1]  # the first strategy on top
    right, left = np.zeros(len(categories)), np.zeros(len(categories))
    for category in used:
        values = categories[category].to_numpy(dtype=float)
        start = np.where(values >= 0, right, left + values)
        hatch = "//" if category in shortfall else None
        for y, x0, width, ok in zip(positions, start, np.abs(values), keep.to_numpy(bool), strict=True):
            ax.barh(y, width, left=x0, height=0.6, color=palette[category], hatch=hatch, edgecolor="white",
                    alpha=1.0 if ok else 0.35, **kw)
        right, left = np.where(values >= 0, right + values, right), np.where(values < 0, left + values, left)
    ax.scatter(categories.sum(axis=1).to_numpy(float), positions, marker="|", s=400, color="black", zorder=3)
    names = [str(s) if ok else f"{s}{EXCLUDED}" for s, ok in zip(categories.index, keep.to_numpy(bool), strict=True)]
    ax.set_yticks(positions, names)
    handles = [Line2D([], [], color=palette[c], lw=8, label=c) for c in used if c not in shortfall]
    handles += [Patch(facecolor=palette[c], hatch="//", edgecolor="white", label=f"{c} (shortfall)")
                for c in used if c in shortfall]
    handles.append(Line2D([], [], color="black", marker="|", ls="", ms=14, label="cost of service"))
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.xaxis.set_major_formatter(MONEY)
    ax.set(xlabel="mean present value (USD)",
           title="Cost of service = spend (solid) + priced shortfall (hatched), mean per strategy")
    return ax


def tornado_plot(tornado: pd.DataFrame, *, ax: Axes | None = None, **kw) -> Axes:
    """Margin ``J(runner-up) - J(best)`` with each prior at its low (blue) and high (orange) quantile.

    Bars start at the unpinned margin; whiskers are ``z`` pathwise SEs of the change; left of zero the ranking
    flips.
    """
    frame = tornado.iloc[::-1]  # largest swing on top
    ax = new_axes(ax, size=(9, 1.0 + 0.6 * max(len(frame), 1)))
    best, runner = tornado.attrs.get("pair", ("best", "runner-up"))
    base = tornado.attrs.get("base_margin", 0.0)
    lo_q, hi_q = tornado.attrs.get("low_quantile", 0.1), tornado.attrs.get("high_quantile", 0.9)
    z = z_value(kw.pop("confidence", 0.95))
    colors = sns.color_palette(n_colors=2)
    positions = np.arange(len(frame))
    for end, color, offset in (("low", colors[0], -0.18), ("high", colors[1], 0.18)):
        width = frame[f"{end}_margin"] - base
        ax.barh(positions + offset, width, left=base, height=0.36, color=color, **kw)
        ax.errorbar(
            frame[f"{end}_margin"],
            positions + offset,
            xerr=z * frame[f"{end}_change_se"],
            fmt="none",
            ecolor="black",
            capsize=3,
            lw=1,
        )
    ax.axvline(base, color="black", lw=1)
    ax.axvline(0.0, color="crimson", lw=1.5, ls="--")
    labels = [f"{name}\n{value_label(r['low_value'])} → {value_label(r['high_value'])}" for name, r in frame.iterrows()]
    ax.set_yticks(positions, labels, fontsize=9)
    ax.xaxis.set_major_formatter(MONEY)
    ax.legend(
        handles=[
            Line2D([], [], color=colors[0], lw=8, label=f"prior at its P{round(100 * lo_q)}"),
            Line2D([], [], color=colors[1], lw=8, label=f"prior at its P{round(100 * hi_q)}"),
            Line2D([], [], color="black", lw=1, label="all priors drawn (main run)"),
            Line2D([], [], color="crimson", lw=1.5, ls="--", label=f"left of this line {runner} wins"),
        ],
        loc="best",
        fontsize=8,
    )
    ax.set(
        xlabel=f"margin: cost of service of {runner} minus that of {best} (PV, USD)",
        title=f"Tornado: what moves the {best} vs {runner} margin (changes on {tornado.attrs.get('paths', '?')} paths)",
    )
    return ax


def sensitivity_indices_plot(indices: pd.DataFrame, *, ax: Axes | None = None, top: int = 12, **kw) -> Axes:
    """First-order indices of the top-two cost difference with ``z``-SE error bars (largest ``top``)."""
    frame = indices.head(top).iloc[::-1]
    ax = new_axes(ax, size=(10, 1.5 + 0.4 * max(len(frame), 1)))
    confidence = kw.pop("confidence", 0.95)
    z = z_value(confidence)
    ax.barh(frame.index, frame["S1"], xerr=z * frame["S1_se"], color=sns.color_palette()[0], capsize=3, **kw)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="first-order index: share of the variance of the per-path cost difference",
        title=f"What drives {indices.attrs.get('pair', ['best', 'runner-up'])[1]} minus "
        f"{indices.attrs.get('pair', ['best', 'runner-up'])[0]} (RBD-FAST, bars: {confidence:.0%} CI)",
    )
    ax.set_xlim(left=min(0.0, float((frame["S1"] - z * frame["S1_se"]).min())))
    return ax


def evppi_plot(table: pd.DataFrame, evpi: tuple[float, float], *, ax: Axes | None = None, top: int = 15,
               confidence: float = 0.95, **kw) -> Axes:
    """EVPPI per prior and group (``table``: :attr:`simulator.decision.voi.Information.table`), largest ``top``,
    with ``z``-SE whiskers; groups and "all priors" darker; the dashed line is the EVPI."""
    frame = table.head(top).iloc[::-1]
    ax = new_axes(ax, size=(10, 1.5 + 0.4 * max(len(frame), 1)))
    z = z_value(confidence)
    colors = [sns.color_palette()[0] if kind == "prior" else sns.color_palette("dark")[0] for kind in frame["kind"]]
    ax.barh(frame.index, frame["evppi"], xerr=z * frame["evppi_se"], color=colors, capsize=3, **kw)
    ax.axvline(evpi[0], color="crimson", lw=1.5, ls="--", label=f"EVPI {money_pm(*evpi)}")
    ax.xaxis.set_major_formatter(MONEY)
    ax.legend(loc="lower right", fontsize=9)
    ax.set(xlabel="EVPPI: expected saving from learning it before deciding (PV, USD)",
           title=f"What is worth learning (dark: groups; bars: {confidence:.0%} CI)")
    return ax


def _confidence(analysis) -> float:
    return float(analysis.metrics.attrs.get("confidence", 0.95))


DECISION_PLOTS: dict[str, Callable] = {  # PNG name -> draw(analysis), None when there is nothing to draw
    "risk_map": lambda a: risk_map(a.metrics),
    "risk_map_lateness": lambda a: risk_map(a.metrics, y="p_late"),
    "win_probability": lambda a: win_probability_heatmap(a.comparisons["win"], a.comparisons["win_se"]),
    "cost_decomposition": lambda a: (
        cost_decomposition(a.categories, a.metrics["admissible"].astype(bool))
        if getattr(a, "categories", None) is not None else None
    ),
    "tornado": lambda a: (
        tornado_plot(a.tornado, confidence=_confidence(a)) if a.tornado is not None and len(a.tornado) else None
    ),
    "evppi": lambda a: (
        evppi_plot(a.robustness.information.table, (a.robustness.information.evpi, a.robustness.information.evpi_se),
                   confidence=_confidence(a))
        if getattr(a, "robustness", None) is not None and a.robustness.information is not None else None
    ),
    "sensitivity_indices": lambda a: (
        sensitivity_indices_plot(a.indices, confidence=_confidence(a))
        if a.indices is not None and len(a.indices) else None
    ),
}


def save_decision_plots(analysis, directory: Path) -> list[Path]:
    """Draw every plot of :data:`DECISION_PLOTS` that has data and save it as ``directory/NAME.png``."""
    return save_figures(((name, lambda draw=draw: draw(analysis)) for name, draw in DECISION_PLOTS.items()), directory)
