"""The optimum of an in-engine sweep under the decision's objective and constraints, the set within noise of it, and
the efficient frontier (mean cost against CVaR and P(late)).

Pure functions of a run's :class:`~simulator.decision.outcomes.Outcomes` (kept or streamed: every statistic covers
all paths) and the :class:`~simulator.decision.recommend.Recommendation`'s ranking table, so a sweep's variants are
judged exactly as the recommendation judges strategies.

Notes
-----
For the variants ``v`` of one sweep (its grid points):

* *admissible*: ``v`` meets every constraint of :func:`simulator.decision.recommend.constraints` (data policy,
  ``P(late) <= max_p_late``, mean delay, budgets); an inadmissible variant is named with the constraints it fails;
* *optimum* ``b = argmin_{v admissible} J(v)``, ``J`` the decision's objective (mean, ``level``-quantile or
  ``CVaR_level`` of the cost of service), with its SE (:func:`simulator.decision.metrics.objective`);
* *within noise*: an admissible ``v`` with ``m_v = J(v) - J(b) <= z SE(m_v)``, ``SE(m_v)`` the pathwise SE of the
  objective difference on the common random numbers (:func:`simulator.decision.metrics.margin`),
  ``z = Phi^-1((1 + confidence) / 2)``: "any base between 16 and 32 GPUs is as good";
* *efficient frontier* (mean cost vs ``CVaR_level``): ``v`` is non-dominated when no variant ``u`` has
  ``mean_u <= mean_v`` and ``CVaR_u <= CVaR_v`` with one strict; ordered by mean cost, each step to the next
  frontier point costs ``Delta mean`` and buys ``-Delta CVaR`` of tail protection, at ``Delta mean / -Delta CVaR``
  dollars of expected cost per dollar of CVaR. The same with ``P(late)`` in place of CVaR when the scenario has
  named runs. The frontier is over every variant (an inadmissible one is marked, not dropped: it shows what the
  constraint costs). These are point estimates; a step within noise of zero is marked in the table.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from simulator.config.schema import DecisionConfig, SweepConfig
from simulator.config.sweeps import grid_points, sweep_knobs, sweep_labels
from simulator.decision import metrics
from simulator.decision.outcomes import Outcomes
from simulator.decision.recommend import objective_label, recommend
from simulator.stats.estimators import cvar_and_se, mean_and_se, within_noise


@dataclasses.dataclass(frozen=True)
class SweepOptimum:
    """One sweep's variants judged under the decision (see module Notes); arrays in grid order."""

    name: str
    strategy: str
    knobs: list[str]
    points: list[tuple[float, ...]]
    labels: list[str]
    objective: np.ndarray
    objective_se: np.ndarray
    admissible: np.ndarray
    excluded_because: list[str]
    margin: np.ndarray  # J(v) - J(best), NaN for inadmissible variants or without an optimum
    margin_se: np.ndarray
    within_noise: np.ndarray  # admissible and within noise of the optimum (the optimum included)
    best: int | None
    mean: np.ndarray
    mean_se: np.ndarray
    cvar: np.ndarray
    cvar_se: np.ndarray
    p_late: np.ndarray
    p_late_se: np.ndarray
    frontier: np.ndarray  # non-dominated in (mean, CVaR)
    frontier_late: np.ndarray | None  # non-dominated in (mean, P(late)); None without named runs
    objective_name: str
    level: float
    confidence: float

    def point_text(self, i: int) -> str:
        """``pools.base.gpus = 16, expansion.gpus = 8``."""
        return ", ".join(f"{k} = {v:g}" for k, v in zip(self.knobs, self.points[i], strict=True))


def non_dominated(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``True`` where no other point has ``x_u <= x_v`` and ``y_u <= y_v`` with one strict (both minimised)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    weakly = (x[None, :] <= x[:, None]) & (y[None, :] <= y[:, None])
    strictly = (x[None, :] < x[:, None]) | (y[None, :] < y[:, None])
    return ~np.any(weakly & strictly, axis=1)


def sweep_optimum(outcomes: Outcomes, name: str, sweep: SweepConfig, decision: DecisionConfig,
                  ranking: pd.DataFrame | None = None, *, has_runs: bool = True) -> SweepOptimum:
    """Judge the variants of ``sweep`` (see module Notes). ``ranking``: the recommendation's table (objective,
    objective_se, admissible, excluded_because, p_late, p_late_se per strategy); computed when None."""
    where = f"sweeps.{name}"
    grid, labels = sweep_knobs(sweep, where), sweep_labels(sweep, where)
    table = (recommend(outcomes, decision).ranking if ranking is None else ranking).loc[labels]
    index = [outcomes.strategies.index(label) for label in labels]
    objective, objective_se = table["objective"].to_numpy(float), table["objective_se"].to_numpy(float)
    admissible = table["admissible"].to_numpy(bool)
    best = int(np.flatnonzero(admissible)[np.argmin(objective[admissible])]) if admissible.any() else None
    margin, margin_se = np.full(len(labels), np.nan), np.full(len(labels), np.nan)
    if best is not None:
        for i in np.flatnonzero(admissible):
            margin[i], margin_se[i] = (0.0, 0.0) if i == best else metrics.margin(
                outcomes, index[i], index[best], decision)
    near = admissible & ((margin == 0.0) | within_noise(np.nan_to_num(margin, nan=np.inf),
                                                         np.nan_to_num(margin_se), decision.confidence))
    moments = np.array([mean_and_se(outcomes.distribution("cost", k)) + cvar_and_se(
        outcomes.distribution("cost", k), decision.level) for k in index])
    p_late, p_late_se = table["p_late"].to_numpy(float), table["p_late_se"].to_numpy(float)
    return SweepOptimum(
        name, sweep.strategy, list(grid), grid_points(grid), labels, objective, objective_se, admissible,
        [str(r) for r in table["excluded_because"]], margin, margin_se, near, best, *moments.T,
        p_late, p_late_se, non_dominated(moments[:, 0], moments[:, 2]),
        non_dominated(moments[:, 0], p_late) if has_runs else None, objective_label(decision), decision.level,
        decision.confidence)


def sweep_optima(outcomes: Outcomes, sweeps: dict[str, SweepConfig], decision: DecisionConfig,
                 ranking: pd.DataFrame | None = None, *, has_runs: bool = True) -> dict[str, SweepOptimum]:
    """:func:`sweep_optimum` of every sweep, the recommendation's ranking computed once."""
    if not sweeps:
        return {}
    ranking = recommend(outcomes, decision).ranking if ranking is None else ranking
    return {name: sweep_optimum(outcomes, name, sweep, decision, ranking, has_runs=has_runs)
            for name, sweep in sweeps.items()}


def frontier_frame(opt: SweepOptimum, against: str = "cvar") -> pd.DataFrame:
    """The frontier points ordered by mean cost, with each step's ``delta_mean``, ``delta_tail`` (CVaR or P(late))
    and ``usd_per_tail`` (``delta_mean / -delta_tail``), and whether the step is within noise of zero (unpaired)."""
    on = opt.frontier if against == "cvar" else opt.frontier_late
    tail, tail_se = (opt.cvar, opt.cvar_se) if against == "cvar" else (opt.p_late, opt.p_late_se)
    rows = [dict(variant=opt.point_text(i), mean=opt.mean[i], mean_se=opt.mean_se[i], tail=tail[i],
                 tail_se=tail_se[i], p_late=opt.p_late[i], admissible=bool(opt.admissible[i]),
                 optimum=i == opt.best) for i in np.flatnonzero(on)]
    frame = pd.DataFrame(rows).sort_values(["mean", "tail"]).reset_index(drop=True)
    frame["delta_mean"] = frame["mean"].diff()
    frame["delta_tail"] = frame["tail"].diff()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["usd_per_tail"] = frame["delta_mean"] / -frame["delta_tail"]
    step_se = np.hypot(frame["tail_se"], frame["tail_se"].shift())
    frame["step_within_noise"] = within_noise(-frame["delta_tail"].to_numpy(), step_se.to_numpy(), opt.confidence)
    frame.attrs.update(against=against, sweep=opt.name, level=opt.level)
    return frame
