"""Risk metrics per strategy, each with its Monte Carlo standard error, written once for kept and streamed runs.

Every function reads an :class:`~simulator.decision.outcomes.Outcomes` through its accessors, so a run that kept
every path and a streamed run give the same table (the streamed order statistics within the sketch's bound). The
estimators and their formulas are in :mod:`simulator.stats.estimators`.

Notes
-----
For strategy ``k`` over ``n`` paths:

* mean, quantiles (order-statistic SE and distribution-free CI), VaR and CVaR of cost and delay: see
  :mod:`simulator.stats.estimators`;
* ``P(late) = (1/n) sum_i 1[some run of path i is late]``; ``P(over budget) = (1/n) sum_i 1[cost_i > budget]``;
  ``P(on budget and on time) = (1/n) sum_i 1[cost_i <= budget and no run late]``; each with the binomial SE
  ``sqrt(p (1 - p) / n)``; without a budget every path is on budget (the joint probability is then P(on time));
* cash (undiscounted, :mod:`simulator.engine.cash`): the peak cumulative spend's mean and P50/P90 (SEs as for
  cost), and ``P(running out) = (1/n) sum_i 1[cash_need_i > funding]``, binomial SE;
* cost = cost of service = spend + shortfall (priced delay, lateness and unserved work); mean spend, mean
  shortfall and mean delivered GPU-hours, each with ``s / sqrt(n)``;
* cost per delivered GPU-hour ``R = E[spend] / E[delivered]``, a ratio of means (not the mean of per-path ratios),
  with the delta-method SE ``sqrt(var(spend_i - R delivered_i) / n) / E[delivered]`` on the paired paths
  (:func:`simulator.stats.estimators.ratio_and_se`);
* objective ``J``: mean cost, the ``level``-quantile (VaR) or ``CVaR_level``;
* margin ``m = J(b) - J(a)`` of two strategies on the same paths, with the pathwise SE: for the mean,
  ``sqrt(var(cost_b - cost_a) / n)`` from the difference moments; for a quantile or CVaR,
  ``sqrt(var(psi^b - psi^a) / n)`` from the per-path influence values ``psi``;
* ``P(a cheaper than b) = (1/n) sum_i (1[c_ai < c_bi] + 1/2 1[c_ai = c_bi])``, binomial SE.

With ``engine.sampling=qmc`` every SE above is instead the spread of the ``R`` scramble estimates of the same
per-path values, ``sd_r(mean_r) / sqrt(R)`` (the :class:`~simulator.decision.outcomes.Outcomes` ``*_se`` methods and
the samples' ``groups``; :mod:`simulator.stats.replicates`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.config.schema import DecisionConfig
from simulator.decision.outcomes import Outcomes
from simulator.stats.estimators import (
    cvar_and_se,
    mean_and_se,
    objective_value_and_se,
    probability_se,
    quantile_and_se,
    quantile_ci,
    ratio_and_se,
    se_from_variance,
)
from simulator.stats.samples import OrderedSample, as_sample

NO_ESTIMATE = (float("nan"), float("nan"))


def distribution_metrics(
    x: np.ndarray | OrderedSample, prefix: str, *, quantiles: tuple[float, ...], level: float, confidence: float
) -> dict[str, float]:
    """Mean (SE), sd, quantiles (SE and CI), VaR (SE) and CVaR (SE) of one variable, keys ``{prefix}_...``."""
    sample = as_sample(x)
    out: dict[str, float] = {}
    out[f"{prefix}_mean"], out[f"{prefix}_mean_se"] = mean_and_se(sample)
    out[f"{prefix}_sd"] = float(np.sqrt(sample.variance))
    for p in quantiles:
        name = f"{prefix}_p{round(100 * p)}"
        out[name], out[f"{name}_se"] = quantile_and_se(sample, p)
        out[f"{name}_lo"], out[f"{name}_hi"] = quantile_ci(sample, p, confidence)
    out[f"{prefix}_var"], out[f"{prefix}_var_se"] = quantile_and_se(sample, level)
    out[f"{prefix}_cvar"], out[f"{prefix}_cvar_se"] = cvar_and_se(sample, level)
    return out


def service_metrics(outcomes: Outcomes, k: int) -> dict[str, float]:
    """Mean spend, shortfall and delivered GPU-hours of strategy ``k`` with SEs, and the cost per delivered GPU-hour
    ``usd_per_gpu_hour`` (ratio of means, delta-method SE; see module Notes)."""
    moments, n = outcomes.service(k), outcomes.n
    out: dict[str, float] = {}
    for name in ("spend", "shortfall", "delivered_gpu_hours"):
        out[f"{name}_mean"] = moments[f"{name}_mean"]
        out[f"{name}_mean_se"] = float(se_from_variance(moments[f"{name}_variance"], n)) if n > 1 else float("nan")
    out["usd_per_gpu_hour"], out["usd_per_gpu_hour_se"] = ratio_and_se(
        moments["spend_mean"], moments["delivered_gpu_hours_mean"], moments["spend_variance"],
        moments["delivered_gpu_hours_variance"], moments["spend_delivered_covariance"], n)
    return out | (outcomes.service_se(k) or {})


def cash_metrics(outcomes: Outcomes, k: int, funding_usd: float | None, *, level: float,
                 confidence: float) -> dict[str, float]:
    """Peak cash need of strategy ``k`` (mean, P50, P90 with SEs) and ``p_out_of_cash`` (NaN without a funding)."""
    peak = distribution_metrics(outcomes.distribution("peak_cash", k), "peak_cash", quantiles=(0.5, 0.9),
                                level=level, confidence=confidence)
    out = {name: value for name, value in peak.items() if not name.endswith(("_lo", "_hi", "_sd"))}
    out["p_out_of_cash"], out["p_out_of_cash_se"] = (
        NO_ESTIMATE if funding_usd is None else probability(outcomes, "out_of_cash", k, funding_usd))
    return out


def probability(outcomes: Outcomes, event: str, k: int, threshold: float | None = None) -> tuple[float, float]:
    """``P(event)`` for strategy ``k`` and its binomial SE (events: :data:`simulator.decision.outcomes.EVENTS`)."""
    p, n = outcomes.fraction(event, k, threshold)
    design = outcomes.fraction_se(event, k, threshold)
    return p, probability_se(p, n) if design is None else design


def delay_mean(outcomes: Outcomes, k: int) -> tuple[float, float]:
    """Mean delay of strategy ``k`` (days) and its SE."""
    return mean_and_se(outcomes.distribution("delay", k))


def objective(outcomes: Outcomes, k: int, decision: DecisionConfig) -> tuple[float, float]:
    """``J`` of strategy ``k``'s cost and its SE (``decision.objective`` at ``decision.level``)."""
    return objective_value_and_se(outcomes.distribution("cost", k), decision.objective, decision.level)


def margin(outcomes: Outcomes, b: int, a: int, decision: DecisionConfig) -> tuple[float, float]:
    """``J(b) - J(a)`` and its pathwise SE on the common random numbers (see module Notes)."""
    design = outcomes.margin_se(b, a, decision.objective, decision.level)
    if decision.objective == "mean":
        mean, variance = outcomes.difference_moments(b, a)
        return mean, float(se_from_variance(variance, outcomes.n)) if design is None else design
    value = objective(outcomes, b, decision)[0] - objective(outcomes, a, decision)[0]
    if design is not None:
        return float(value), design
    psi = outcomes.influence_difference(b, a, decision.objective, decision.level)
    variance = np.var(psi, ddof=1) if psi.size > 1 else float("nan")
    return float(value), float(se_from_variance(variance, outcomes.n))


def p_cheaper(outcomes: Outcomes, a: int, b: int) -> tuple[float, float]:
    """``P(cost_a < cost_b)`` (ties one half) and its binomial SE."""
    p, n = outcomes.p_cheaper(a, b)
    design = outcomes.p_cheaper_se(a, b)
    return p, probability_se(p, n) if design is None else design


def win_matrix(outcomes: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    """``P[a, b] = P(cost_a < cost_b)`` over all paths of ``outcomes`` and its binomial SEs."""
    s = len(outcomes.strategies)
    pairs = np.array([[p_cheaper(outcomes, a, b) for b in range(s)] for a in range(s)]).reshape(s, s, 2)
    return pairs[..., 0], pairs[..., 1]


def risk_metrics(
    outcomes: Outcomes,
    *,
    quantiles: tuple[float, ...] = (0.05, 0.5, 0.95),
    level: float = 0.95,
    confidence: float = 0.95,
    budget_usd: float | None = None,
    funding_usd: float | None = None,
) -> pd.DataFrame:
    """One row per strategy: cost (of service) and delay metrics with SEs and CIs, spend, shortfall and the cost per
    delivered GPU-hour with SEs, P(late), P(cost > budget), P(on budget and
    time) (see module Notes). ``attrs``: the settings and :meth:`~simulator.decision.outcomes.Outcomes.describe`."""
    settings = dict(quantiles=quantiles, level=level, confidence=confidence)
    rows = []
    for k, strategy in enumerate(outcomes.strategies):
        row: dict = {"strategy": strategy}
        row |= distribution_metrics(outcomes.distribution("cost", k), "cost", **settings)
        row |= distribution_metrics(outcomes.distribution("delay", k), "delay", **settings)
        row |= service_metrics(outcomes, k)
        row |= cash_metrics(outcomes, k, funding_usd, level=level, confidence=confidence)
        row["p_late"], row["p_late_se"] = probability(outcomes, "late", k)
        row["p_over_budget"], row["p_over_budget_se"] = (
            NO_ESTIMATE if budget_usd is None else probability(outcomes, "over_budget", k, budget_usd)
        )
        row["p_on_budget_and_time"], row["p_on_budget_and_time_se"] = probability(
            outcomes, "on_budget_and_time", k, budget_usd
        )
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("strategy")
    frame.attrs.update(level=level, confidence=confidence, budget_usd=budget_usd, funding_usd=funding_usd,
                       **outcomes.describe())
    return frame
