"""What changed between two runs: their configurations key by key, and how the decision and its metrics moved.

Notes
-----
Every metric compared is the mean of a per-path influence value ``psi_i`` over the kept paths
(:func:`simulator.stats.estimators.objective_influence`): mean cost ``psi_i = c_i``; ``CVaR_a``
``psi_i = q_a + (c_i - q_a)^+ / (1 - a)``; ``P(late)`` ``psi_i = 1[some named run late on path i]``; the decision's
objective ``J`` by its own ``psi``; the margin ``J(runner-up) - J(best)`` by ``psi^runner-up_i - psi^best_i``
(each run with its own best and runner-up). The values ``m`` are the runs' own estimators on the kept paths (the
mean for the mean cost and P(late), the tail mean for CVaR, the decision's objective as the run ranked by it); the
change of a metric from run A to run B is ``Delta = m_B - m_A`` with standard error

* paired, when both runs have the same seed and the same kept paths (common random numbers: path ``i`` draws the
  same uniforms in both): ``SE = sd_i(psi^B_i - psi^A_i) / sqrt(n)``;
* independent otherwise: ``SE = sqrt(SE_A^2 + SE_B^2)``, ``SE_X = sd_i(psi^X_i) / sqrt(n_X)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import xarray as xr
from omegaconf import OmegaConf

from simulator.stats.estimators import objective_influence, objective_value_and_se, some_run_late


def flatten(tree, prefix: str = "") -> dict[str, object]:
    """``{"a.b.c": leaf}`` of a nested dict (lists are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, object] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def config_diff(yaml_a: str, yaml_b: str) -> pd.DataFrame:
    """The keys whose values differ between two resolved configs (YAML text), with both values (``None``: absent);
    columns ``key, a, b``, sorted by key."""
    a = flatten(OmegaConf.to_container(OmegaConf.create(yaml_a)))
    b = flatten(OmegaConf.to_container(OmegaConf.create(yaml_b)))
    rows = [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k, _MISSING) != b.get(k, _MISSING)]
    return pd.DataFrame(rows, columns=["key", "a", "b"])


_MISSING = object()


def is_paired(ds_a: xr.Dataset, ds_b: xr.Dataset) -> bool:
    """Common random numbers: the same seed and the same kept path ids."""
    return (ds_a.attrs.get("seed") == ds_b.attrs.get("seed") and ds_a.sizes["path"] == ds_b.sizes["path"]
            and bool(np.array_equal(ds_a["path"].values, ds_b["path"].values)))


@dataclasses.dataclass(frozen=True)
class Change:
    """``b - a`` of a metric and its SE (``paired``: on common random numbers)."""

    a: float
    b: float
    change: float
    se: float
    paired: bool


def change_of(psi_a: np.ndarray, psi_b: np.ndarray, paired: bool, values: tuple[float, float] | None = None) -> Change:
    """The change from run A to run B of a metric estimated by ``values`` (default ``mean(psi)``) and its SE from
    the influence values ``psi`` (module Notes)."""
    a, b = values if values is not None else (float(np.mean(psi_a)), float(np.mean(psi_b)))
    if paired:
        se = float(np.std(psi_b - psi_a, ddof=1) / math.sqrt(psi_a.size))
    else:
        se = math.hypot(np.std(psi_a, ddof=1) / math.sqrt(psi_a.size), np.std(psi_b, ddof=1) / math.sqrt(psi_b.size))
    return Change(a, b, b - a, se, paired)


def influences(ds: xr.Dataset, strategy: str, metric: str, objective: str = "mean", level: float = 0.95) -> np.ndarray:
    """Per kept path ``psi_i`` of ``metric`` for ``strategy``: ``mean_cost``, ``cvar``, ``p_late`` or ``objective``
    (the decision's ``objective`` at ``level``)."""
    cost = ds["cost"].sel(strategy=strategy).values.astype(float)
    if metric == "mean_cost":
        return cost
    if metric == "cvar":
        return objective_influence(cost, "cvar", level)
    if metric == "objective":
        return objective_influence(cost, objective, level)
    if metric == "p_late":
        lateness = ds["run_lateness_days"].sel(strategy=strategy).transpose("path", ...).values
        return some_run_late(lateness).astype(float)
    raise ValueError(f"metric must be mean_cost, cvar, p_late or objective, not {metric!r}")


def estimate(ds: xr.Dataset, strategy: str, metric: str, objective: str = "mean", level: float = 0.95) -> float:
    """The estimate whose influence values :func:`influences` gives: the mean of ``psi`` for the mean cost and
    P(late), the run's own estimator (:func:`simulator.stats.estimators.objective_value_and_se`) for CVaR and the
    objective (so a quantile or CVaR objective matches the run's ranking table)."""
    if metric in ("cvar", "objective"):
        cost = ds["cost"].sel(strategy=strategy).values.astype(float)
        return objective_value_and_se(cost, "cvar" if metric == "cvar" else objective, level)[0]
    return float(np.mean(influences(ds, strategy, metric, objective, level)))


def metric_change(ds_a: xr.Dataset, ds_b: xr.Dataset, dec_a, dec_b, strategy: str, metric: str, paired: bool) -> Change:
    """:func:`change_of` of one strategy's ``metric`` between the runs (each at its own objective and level)."""
    args_a, args_b = (strategy, metric, dec_a.objective, dec_a.level), (strategy, metric, dec_b.objective, dec_b.level)
    return change_of(influences(ds_a, *args_a), influences(ds_b, *args_b), paired,
                     (estimate(ds_a, *args_a), estimate(ds_b, *args_b)))


@dataclasses.dataclass(frozen=True)
class Decision:
    """A run's decision as it recorded it: the rank table (``summary.csv``) and best / runner-up."""

    ranking: pd.DataFrame  # index strategy: rank, objective, objective_se, admissible
    best: str | None
    runner_up: str | None
    objective: str
    level: float


def margin_value(ds: xr.Dataset, decision: Decision) -> float:
    """``J(runner-up) - J(best)`` of the run's objective (the margin it recorded, on its kept paths)."""
    return (estimate(ds, decision.runner_up, "objective", decision.objective, decision.level)
            - estimate(ds, decision.best, "objective", decision.objective, decision.level))


def margin_influence(ds: xr.Dataset, decision: Decision) -> np.ndarray | None:
    """``psi^runner-up_i - psi^best_i`` of the run's objective; None without a runner-up."""
    if decision.best is None or decision.runner_up is None:
        return None
    return (influences(ds, decision.runner_up, "objective", decision.objective, decision.level)
            - influences(ds, decision.best, "objective", decision.objective, decision.level))


def decision_changes(ds_a: xr.Dataset, ds_b: xr.Dataset, dec_a: Decision, dec_b: Decision) -> dict[str, object]:
    """The margin's change (:class:`Change` or None), the ranking table of both runs with each strategy's objective
    change, and the key metrics (mean cost, P(late), CVaR) per strategy in both runs, with SEs."""
    paired = is_paired(ds_a, ds_b)
    psi_a, psi_b = margin_influence(ds_a, dec_a), margin_influence(ds_b, dec_b)
    margin = None if psi_a is None or psi_b is None else change_of(
        psi_a, psi_b, paired, (margin_value(ds_a, dec_a), margin_value(ds_b, dec_b)))
    common = [s for s in dec_a.ranking.index if s in dec_b.ranking.index]
    rows, metrics = [], []
    for s in common:
        obj = metric_change(ds_a, ds_b, dec_a, dec_b, s, "objective", paired)
        rows.append([s, int(dec_a.ranking.loc[s, "rank"]), int(dec_b.ranking.loc[s, "rank"]), obj.a, obj.b,
                     obj.change, obj.se, bool(dec_a.ranking.loc[s, "admissible"]),
                     bool(dec_b.ranking.loc[s, "admissible"])])
        for metric in ("mean_cost", "p_late", "cvar"):
            if metric == "p_late" and (ds_a.sizes.get("run", 0) == 0 or ds_b.sizes.get("run", 0) == 0):
                continue
            c = metric_change(ds_a, ds_b, dec_a, dec_b, s, metric, paired)
            metrics.append([s, metric, c.a, c.b, c.change, c.se])
    ranking = pd.DataFrame(rows, columns=["strategy", "rank_a", "rank_b", "objective_a", "objective_b", "change",
                                          "change_se", "admissible_a", "admissible_b"]).sort_values("rank_b")
    return {"paired": paired, "margin": margin, "ranking": ranking.reset_index(drop=True),
            "metrics": pd.DataFrame(metrics, columns=["strategy", "metric", "a", "b", "change", "change_se"]),
            "only_a": [s for s in dec_a.ranking.index if s not in common],
            "only_b": [s for s in dec_b.ranking.index if s not in dec_a.ranking.index]}
