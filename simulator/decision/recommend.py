"""The recommendation: constraints, a ranking under the stated risk preference, and the margin between the top two.

Pure functions of a run's :class:`~simulator.decision.outcomes.Outcomes` (kept or streamed) and a
:class:`~simulator.config.schema.DecisionConfig`. A strategy is *admissible* when it meets every constraint; the
admissible strategies are ranked by the objective of their present-value cost of service (spend plus the priced
shortfall: delay, late runs and unserved work; lower is better), then the others.

Notes
-----
Constraints, each estimated with its SE (:mod:`simulator.decision.metrics`; a strategy is admissible when every point
estimate is within its limit; a constraint *within noise* of its limit, ``|estimate - limit| <= z SE``, is flagged
*borderline*):

* data policy: no pool of a kind in ``excluded_pool_kinds`` (or in ``closed_kinds``, an argument);
* ``P(late) = (1/n) sum_i 1[some run late on path i] <= max_p_late``;
* ``mean delay <= max_mean_delay_days``;
* ``P(cost > budget_usd) <= max_p_over_budget``; ``P(capex > capex_budget_usd) <= max_p_over_capex_budget``;
* ``P(cash needed before the raise > funding_usd) <= max_p_out_of_cash`` (:mod:`simulator.engine.cash`).

Objective ``J`` of a strategy: mean cost, the ``level``-quantile (VaR) or ``CVaR_level``. The margin between the best
admissible strategy ``A`` and the runner-up ``B`` is ``m = J_B - J_A >= 0`` with its pathwise SE
(:func:`simulator.decision.metrics.margin`). The ranking is *within noise* when ``m <= z SE(m)``,
``z = Phi^-1((1 + confidence) / 2)`` (:func:`simulator.stats.estimators.within_noise`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from simulator.config.schema import DecisionConfig
from simulator.decision import metrics
from simulator.decision.outcomes import Outcomes
from simulator.stats.estimators import within_noise, z_value

OBJECTIVE_LABELS = {"mean": "mean cost of service", "quantile": "P{p} cost of service (VaR)",
                    "cvar": "CVaR{p} of the cost of service"}


def objective_label(decision: DecisionConfig) -> str:
    return OBJECTIVE_LABELS[decision.objective].format(p=round(100 * decision.level))


def constraints(outcomes: Outcomes, decision: DecisionConfig, closed_kinds=frozenset()) -> pd.DataFrame:
    """Per strategy: each constraint's estimate and SE, whether it holds, and the reasons a strategy is excluded."""
    excluded = set(decision.excluded_pool_kinds) | set(closed_kinds)
    rows = []
    for k, name in enumerate(outcomes.strategies):
        reasons, borderline, failed = [], [], []

        def limit(label, value, se, bound, fmt, reasons=reasons, borderline=borderline, failed=failed):
            if value > bound:
                reasons.append(f"{label} {fmt(value)} > {fmt(bound)}")
                failed.append(label)
            if se > 0.0 and within_noise(value - bound, se, decision.confidence):  # a sure estimate is no borderline
                borderline.append(label)

        row = {"strategy": name}
        banned = sorted(excluded & set(outcomes.pool_kinds.get(name, ())))
        if banned:
            reasons.append(f"data policy excludes {', '.join(banned)}")
            failed.append("data policy")
        row["p_late"], row["p_late_se"] = metrics.probability(outcomes, "late", k)
        limit("P(late)", row["p_late"], row["p_late_se"], decision.max_p_late, "{:.3f}".format)
        row["delay_mean"], row["delay_mean_se"] = metrics.delay_mean(outcomes, k)
        if decision.max_mean_delay_days is not None:
            limit("mean delay", row["delay_mean"], row["delay_mean_se"], decision.max_mean_delay_days, _days)
        for column, event, label, threshold, bound in _budget_limits(decision):
            if threshold is not None:
                row[column], row[f"{column}_se"] = metrics.probability(outcomes, event, k, threshold)
                limit(label, row[column], row[f"{column}_se"], bound, _p)
        row["admissible"] = not reasons
        row["excluded_because"] = "; ".join(reasons)
        row["failed"] = ", ".join(failed)
        row["borderline"] = ", ".join(borderline)
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def _budget_limits(decision: DecisionConfig) -> list[tuple[str, str, str, float | None, float]]:
    """The budget constraints: (column, outcome event, label, budget threshold or None, largest probability)."""
    return [("p_over_budget", "over_budget", "P(over budget)", decision.budget_usd, decision.max_p_over_budget),
            ("p_over_capex", "over_capex_budget", "P(capex over)", decision.capex_budget_usd,
             decision.max_p_over_capex_budget),
            ("p_out_of_cash", "out_of_cash", "P(out of cash)", decision.funding_usd, decision.max_p_out_of_cash)]


def _p(x: float) -> str:
    return f"{x:.3f}"


def _days(x: float) -> str:
    return f"{x:.1f} d"


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """The ranked list and the verdict: best admissible strategy, runner-up, margin and its pathwise SE."""

    ranking: pd.DataFrame  # index strategy, in rank order
    objective: str  # human label, e.g. "mean cost of service"
    best: str | None
    runner_up: str | None
    margin: float  # J(runner-up) - J(best), USD; nan without a runner-up
    margin_se: float
    z: float
    p_best_cheaper: float  # P(best cheaper than runner-up), pathwise
    p_best_cheaper_se: float

    confidence: float = 0.95

    @property
    def within_noise(self) -> bool:
        """The top two cannot be told apart: ``margin <= z SE(margin)`` at the decision's confidence."""
        return bool(self.runner_up is not None and within_noise(self.margin, self.margin_se, self.confidence))


def recommend(outcomes: Outcomes, decision: DecisionConfig, closed_kinds=frozenset()) -> Recommendation:
    """Rank the strategies and compare the top two admissible ones (see module Notes)."""
    table = constraints(outcomes, decision, closed_kinds)
    values = [metrics.objective(outcomes, k, decision) for k in range(len(outcomes.strategies))]
    table.insert(0, "objective", [v for v, _ in values])
    table.insert(1, "objective_se", [se for _, se in values])
    order = table.sort_values(["admissible", "objective"], ascending=[False, True])
    order.insert(0, "rank", np.arange(1, len(order) + 1))
    admissible = list(order.index[order["admissible"]])
    best = admissible[0] if admissible else None
    runner = admissible[1] if len(admissible) > 1 else None
    margin = margin_se = p_cheaper = p_cheaper_se = float("nan")
    if runner is not None:
        a, b = outcomes.strategies.index(best), outcomes.strategies.index(runner)
        margin, margin_se = metrics.margin(outcomes, b, a, decision)
        p_cheaper, p_cheaper_se = metrics.p_cheaper(outcomes, a, b)
    return Recommendation(
        order,
        objective_label(decision),
        best,
        runner,
        margin,
        margin_se,
        z_value(decision.confidence),
        p_cheaper,
        p_cheaper_se,
        decision.confidence,
    )


def precision_reached(rec: Recommendation, target_relative_se: float) -> tuple[bool, str]:
    """Whether the run is precise enough to stop adding paths: the best strategy's objective SE is at most
    ``target_relative_se`` of its value, and the top two are apart (``margin >= z SE(margin)``)."""
    if rec.best is None:
        return True, "no admissible strategy"
    row = rec.ranking.loc[rec.best]
    relative = row["objective_se"] / max(abs(row["objective"]), 1e-300)
    separated = rec.runner_up is None or not rec.within_noise
    text = f"SE of the best objective {relative:.2%} of it (target {target_relative_se:.2%})"
    if rec.runner_up is not None:
        text += f"; margin {rec.margin / max(rec.margin_se, 1e-300):.1f} SE (needs {rec.z:.2f})"
    return bool(relative <= target_relative_se and separated), text
