"""The recommendation: constraints, a ranking under the stated risk preference, and the margin between the top two.

Pure functions of per-path outcomes (:class:`Outcomes`, built from the results Dataset or from raw engine outputs)
and a :class:`~simulator.config.schema.DecisionConfig`. A strategy is *admissible* when it meets every constraint; the
admissible strategies are ranked by the objective of their present-value cost (lower is better), then the others.

Notes
-----
Constraints, each estimated with its SE (a strategy is admissible when every point estimate is within its limit;
a constraint closer to its limit than ``z`` SEs is flagged *borderline*):

* data policy: no pool of a kind in ``excluded_pool_kinds`` (or in ``closed_kinds``, an argument);
* ``P(late) = (1/n) sum_i 1[some run late on path i] <= max_p_late``;
* ``mean delay <= max_mean_delay_days``;
* ``P(cost > budget_usd) <= max_p_over_budget``; ``P(capex > capex_budget_usd) <= max_p_over_capex_budget``.

Objective ``J`` of a strategy: mean cost, the ``level``-quantile (VaR) or ``CVaR_level``, with per-path influence
values ``psi_i`` (:func:`simulator.decision.metrics.objective_influence`). The margin between the best admissible strategy
``A`` and the runner-up ``B`` is ``m = J_B - J_A >= 0``; its standard error is computed pathwise,
``SE(m) = sd(psi^B - psi^A) / sqrt(n)``, on the common random numbers. The ranking is *within noise* when
``m < z SE(m)``, ``z = Phi^-1((1 + confidence) / 2)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import xarray as xr

from simulator.config.schema import DecisionConfig
from simulator.decision.metrics import any_run_late
from simulator.stats.estimators import (
    difference_and_se,
    mean_and_se,
    objective_value_and_se,
    probability_and_se,
    z_value,
)

OBJECTIVE_LABELS = {"mean": "mean cost", "quantile": "P{p} cost (VaR)", "cvar": "CVaR{p} of cost"}


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """Per-path outcomes of every strategy, arrays of shape ``(strategies, paths)``."""

    strategies: tuple[str, ...]
    cost: np.ndarray  # present value, USD
    delay: np.ndarray  # days
    late: np.ndarray  # bool: some named run finished after its deadline
    capex: np.ndarray  # undiscounted purchases, USD
    pool_kinds: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, pool_kinds: dict[str, tuple[str, ...]] | None = None) -> Outcomes:
        capex = (
            ds["cash_by_category"].sel(category="capex").values
            if "capex" in ds["category"].values
            else np.zeros(ds["cost"].shape)
        )
        return cls(
            tuple(str(s) for s in ds["strategy"].values),
            ds["cost"].values,
            ds["delay"].values,
            any_run_late(ds).values,
            capex,
            dict(pool_kinds or {}),
        )

    @classmethod
    def from_engine(
        cls,
        outputs: dict[str, np.ndarray],
        strategies: list[str],
        pool_kinds=None,
        capex_index: int | None = None,
    ) -> Outcomes:
        """From raw engine outputs, laid out ``(path, strategy, ...)``."""
        lateness = outputs["run_lateness_days"]
        late = (lateness > 0).any(axis=-1) if lateness.shape[-1] else np.zeros(outputs["cost"].shape, bool)
        capex = (
            outputs["cash_by_category"][..., capex_index] if capex_index is not None else 0 * outputs["cost"]
        )
        return cls(
            tuple(strategies),
            outputs["cost"].T,
            outputs["delay"].T,
            late.T,
            np.asarray(capex).T,
            dict(pool_kinds or {}),
        )

    # The statistics the recommendation needs, each ``(estimate, SE)``; StreamedOutcomes computes the same ones
    # from a run's streamed statistics (simulator.decision.streamed_metrics).
    def p_late(self, k: int) -> tuple[float, float]:
        return probability_and_se(self.late[k])

    def delay_mean(self, k: int) -> tuple[float, float]:
        return mean_and_se(self.delay[k])

    def p_over_budget(self, k: int, budget: float) -> tuple[float, float]:
        return probability_and_se(self.cost[k] > budget)

    def p_over_capex(self, k: int, budget: float) -> tuple[float, float]:
        return probability_and_se(self.capex[k] > budget)

    def objective(self, k: int, decision: DecisionConfig) -> tuple[float, float]:
        return objective_value_and_se(self.cost[k], decision.objective, decision.level)

    def margin(self, b: int, a: int, decision: DecisionConfig) -> tuple[float, float]:
        """``J(b) - J(a)`` and its pathwise SE (see :func:`paired_difference`)."""
        return paired_difference(self.cost[b], self.cost[a], decision)

    def p_cheaper(self, a: int, b: int) -> tuple[float, float]:
        return probability_and_se(self.cost[a] < self.cost[b])


def objective_label(decision: DecisionConfig) -> str:
    return OBJECTIVE_LABELS[decision.objective].format(p=round(100 * decision.level))


def constraints(outcomes: Outcomes, decision: DecisionConfig, closed_kinds=frozenset()) -> pd.DataFrame:
    """Per strategy: each constraint's estimate and SE, whether it holds, and the reasons a strategy is excluded."""
    z = z_value(decision.confidence)
    excluded = set(decision.excluded_pool_kinds) | set(closed_kinds)
    rows = []
    for k, name in enumerate(outcomes.strategies):
        reasons, borderline, failed = [], [], []

        def limit(label, value, se, bound, fmt, reasons=reasons, borderline=borderline, failed=failed):
            if value > bound:
                reasons.append(f"{label} {fmt(value)} > {fmt(bound)}")
                failed.append(label)
            if abs(value - bound) < z * se:
                borderline.append(label)

        row = {"strategy": name}
        banned = sorted(excluded & set(outcomes.pool_kinds.get(name, ())))
        if banned:
            reasons.append(f"data policy excludes {', '.join(banned)}")
            failed.append("data policy")
        row["p_late"], row["p_late_se"] = outcomes.p_late(k)
        limit("P(late)", row["p_late"], row["p_late_se"], decision.max_p_late, "{:.3f}".format)
        row["delay_mean"], row["delay_mean_se"] = outcomes.delay_mean(k)
        if decision.max_mean_delay_days is not None:
            limit("mean delay", row["delay_mean"], row["delay_mean_se"], decision.max_mean_delay_days, _days)
        if decision.budget_usd is not None:
            row["p_over_budget"], row["p_over_budget_se"] = outcomes.p_over_budget(k, decision.budget_usd)
            limit(
                "P(over budget)",
                row["p_over_budget"],
                row["p_over_budget_se"],
                decision.max_p_over_budget,
                _p,
            )
        if decision.capex_budget_usd is not None:
            row["p_over_capex"], row["p_over_capex_se"] = outcomes.p_over_capex(k, decision.capex_budget_usd)
            limit(
                "P(capex over)",
                row["p_over_capex"],
                row["p_over_capex_se"],
                decision.max_p_over_capex_budget,
                _p,
            )
        row["admissible"] = not reasons
        row["excluded_because"] = "; ".join(reasons)
        row["failed"] = ", ".join(failed)
        row["borderline"] = ", ".join(borderline)
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def _p(x: float) -> str:
    return f"{x:.3f}"


def _days(x: float) -> str:
    return f"{x:.1f} d"


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """The ranked list and the verdict: best admissible strategy, runner-up, margin and its pathwise SE."""

    ranking: pd.DataFrame  # index strategy, in rank order
    objective: str  # human label, e.g. "mean cost"
    best: str | None
    runner_up: str | None
    margin: float  # J(runner-up) - J(best), USD; nan without a runner-up
    margin_se: float
    z: float
    p_best_cheaper: float  # P(best cheaper than runner-up), pathwise
    p_best_cheaper_se: float

    @property
    def within_noise(self) -> bool:
        return bool(self.runner_up is not None and self.margin < self.z * self.margin_se)


def recommend(outcomes: Outcomes, decision: DecisionConfig, closed_kinds=frozenset()) -> Recommendation:
    """Rank the strategies and compare the top two admissible ones (see module Notes)."""
    table = constraints(outcomes, decision, closed_kinds)
    values = [outcomes.objective(k, decision) for k in range(len(outcomes.strategies))]
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
        margin, margin_se = outcomes.margin(b, a, decision)
        p_cheaper, p_cheaper_se = outcomes.p_cheaper(a, b)
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
    )


def paired_difference(
    cost_b: np.ndarray, cost_a: np.ndarray, decision: DecisionConfig
) -> tuple[float, float]:
    """``J(b) - J(a)`` and its pathwise SE ``sd(psi^b - psi^a) / sqrt(n)`` (common random numbers)."""
    return difference_and_se(cost_b, cost_a, decision.objective, decision.level)


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
