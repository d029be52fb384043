"""Where a knob value pays, by the value of one prior: an in-engine sweep's decision map over (knob, prior bin).

A scenario declares, e.g.::

    sweeps:
      trigger: {strategy: rent_then_buy, knob: procurement.base_stock.trigger_gpus, values: [0, 16, 32, 64, 1e9]}
    prior_maps:
      growth: {sweep: trigger, prior: workload.growth_multiplier_per_year, versus: neocloud, bins: 5}

Every path drew its own value of the prior, and every variant of the sweep ran on the same paths, so the paths of
one prior bin are a sample of the world *given* that the prior lies in the bin: no re-run is needed.

Notes
-----
With ``x_i`` path ``i``'s draw of the prior, bins ``B_1..B_K`` the ``K``-quantiles of ``x`` (equal path counts),
``C_v(i)`` the cost of service of variant ``v`` and ``R(i)`` that of the ``versus`` strategy (e.g. the best all-rented
one), the map holds, per bin ``b`` and value ``v``, the conditional mean saving over the reference

``D_bv = (1 / n_b) sum_{i in B_b} (C_v(i) - R(i))``, with the pathwise SE ``sd_{i in B_b}(C_v - R) / sqrt(n_b)``;

the best value of bin ``b`` minimises ``D_bv``, and the values *within noise* of it are those whose pathwise
difference to the best, ``mean_{B_b}(C_v - C_best)``, is at most ``z`` times its SE (``decision.confidence``). A
negative ``D`` means the variant beats the reference given the prior in the bin: for a purchase trigger against
renting, the bins where owning starts to pay.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from simulator.report.figures import new_axes, save_figures
from simulator.report.format import markdown_table, money_pm
from simulator.stats.estimators import se_of_mean, within_noise
from simulator.stats.replicates import path_groups


@dataclasses.dataclass(frozen=True)
class PriorMap:
    """A sweep's conditional decision map: ``saving`` and ``se`` are (bins, values) DataFrames (USD)."""

    sweep: str
    prior: str
    versus: str
    knob: str
    saving: pd.DataFrame  # D_bv: mean cost of the variant minus the reference's, paths of bin b
    se: pd.DataFrame
    best: pd.Series  # per bin: the best knob value
    within_noise: pd.Series  # per bin: the knob values within noise of the best (list)


def prior_bins(x: np.ndarray, bins: int) -> tuple[np.ndarray, list[str]]:
    """Each path's bin index (``bins`` quantile bins of ``x``) and the bins' labels ``"lo-hi"``."""
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)))
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    return index, [f"{lo:.3g}-{hi:.3g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def prior_map(cost: np.ndarray, reference: np.ndarray, x: np.ndarray, values: list[float], *, bins: int,
              confidence: float, names: tuple[str, str, str, str] = ("", "", "", ""),
              groups: np.ndarray | None = None) -> PriorMap:
    """The map of a sweep (see the module Notes): ``cost`` (values, paths), ``reference`` and ``x`` (paths,).

    ``names`` are (sweep, prior, versus, knob), for the labels; ``groups`` each path's scramble in a ``qmc`` run (the
    SEs are then the spread between the scrambles' bin means, :mod:`simulator.stats.replicates`).
    """
    index, labels = prior_bins(np.asarray(x, float), bins)
    saving, se, best, close = [], [], [], []
    for b in range(len(labels)):
        in_bin = index == b
        g = None if groups is None else np.asarray(groups)[in_bin]
        diff = cost[:, in_bin] - reference[None, in_bin]
        means = diff.mean(axis=1)
        saving.append(means)
        se.append(se_of_mean(diff, axis=1, groups=g))
        k = int(np.argmin(means))
        to_best = cost[:, in_bin] - cost[k, in_bin]
        best.append(values[k])
        close.append([v for j, v in enumerate(values) if j == k or bool(
            within_noise(to_best[j].mean(), se_of_mean(to_best[j], groups=g), confidence))])
    frame = lambda rows: pd.DataFrame(np.asarray(rows), index=pd.Index(labels, name=names[1]),  # noqa: E731
                                      columns=pd.Index(values, name=names[3]))
    return PriorMap(*names, saving=frame(saving), se=frame(se), best=pd.Series(best, index=labels),
                    within_noise=pd.Series(close, index=labels))


def prior_map_of(ds: xr.Dataset, labels: list[str], values: list[float], *, prior: str, versus: str, bins: int,
                 confidence: float, sweep: str, knob: str) -> PriorMap:
    """:func:`prior_map` from a results Dataset (its kept paths): the variants ``labels``, the strategy ``versus``
    and the per-path draws ``param_<prior>`` (dots as ``__``)."""
    cost = ds["cost"].transpose("strategy", "path")
    x = ds["param_" + prior.replace(".", "__")].values
    return prior_map(cost.sel(strategy=labels).values, cost.sel(strategy=versus).values, x, values, bins=bins,
                     confidence=confidence, names=(sweep, prior, versus, knob),
                     groups=path_groups(ds["path"].values, ds.attrs.get("qmc_scrambles")))


def prior_map_markdown(m: PriorMap) -> list[str]:
    """One row per bin: the best value, its saving over the reference (SE) and the values within noise."""
    rows = []
    for label in m.saving.index:
        v = m.best[label]
        rows.append([label, f"{v:g}", money_pm(m.saving.loc[label, v], m.se.loc[label, v]),
                     ", ".join(f"{w:g}" for w in m.within_noise[label])])
    header = [m.prior, f"best {m.knob}", f"mean cost minus {m.versus}'s", "within noise of the best"]
    return markdown_table(f"Decision map `{m.sweep}`: the best {m.knob} given {m.prior}", header, rows)


def prior_map_plot(m: PriorMap, *, ax: Axes | None = None) -> Axes:
    """The saving over the reference per (bin, value) in $M, blue where the variant is cheaper; each bin's best
    value boxed."""
    ax = new_axes(ax, (1.2 * m.saving.shape[1] + 3, 0.6 * m.saving.shape[0] + 2))
    scale = float(np.nanmax(np.abs(m.saving.values))) / 1e6 or 1.0
    sns.heatmap(m.saving / 1e6, cmap="RdBu_r", center=0.0, vmin=-scale, vmax=scale, annot=True, fmt=".2f",
                cbar_kws=dict(label=f"mean cost minus {m.versus}'s ($M)"), ax=ax)
    for row, label in enumerate(m.saving.index):
        col = list(m.saving.columns).index(m.best[label])
        ax.add_patch(Rectangle((col, row), 1, 1, fill=False, edgecolor="black", linewidth=2))
    ax.set(title=f"{m.sweep}: best {m.knob} by {m.prior}\n(blue: cheaper than {m.versus}; boxed: best)")
    return ax


def save_prior_maps(maps: list[PriorMap], directory: Path) -> list[Path]:
    """``prior_map_<sweep>.png`` for each map."""
    return save_figures(((f"prior_map_{m.sweep}", lambda m=m: prior_map_plot(m)) for m in maps), directory)
