"""The recommendation honours each constraint and the objective, and says when the top two are within noise."""

import dataclasses

import numpy as np
import pytest

from simulator.config.schema import DecisionConfig
from simulator.decision.outcomes import PathOutcomes
from simulator.decision.recommend import precision_reached, recommend

N = 4000
RNG = np.random.default_rng(0)
COMMON = RNG.normal(size=N)


def outcome(mean_cost, *, p_late=0.0, delay=0.0, capex=0.0, spread=0.2, kinds=("on_demand",), noise=0.01):
    cost = mean_cost * np.exp(spread * COMMON - spread**2 / 2 + noise * RNG.normal(size=N))
    late = RNG.random(N) < p_late
    return dict(cost=cost, delay=np.full(N, delay), late=late, capex=np.full(N, capex), kinds=kinds)


def outcomes(**strategies) -> PathOutcomes:
    names = tuple(strategies)
    get = lambda key: np.vstack([strategies[s][key] for s in names])  # noqa: E731
    return PathOutcomes(
        names,
        get("cost"),
        get("delay"),
        get("late"),
        get("capex"),
        {s: strategies[s]["kinds"] for s in names},
    )


def decision(**kw) -> DecisionConfig:
    return dataclasses.replace(DecisionConfig(), **kw)


BASE = dict(fallback=outcome(2e6))


def test_unconstrained_picks_the_cheapest():
    rec = recommend(outcomes(cheap=outcome(1e6), **BASE), decision())
    assert rec.best == "cheap" and rec.runner_up == "fallback"
    assert rec.margin == pytest.approx(1e6, rel=0.05) and not rec.within_noise


def test_max_p_late():
    o = outcomes(cheap=outcome(1e6, p_late=0.4), **BASE)
    assert recommend(o, decision(max_p_late=0.5)).best == "cheap"
    rec = recommend(o, decision(max_p_late=0.3))
    assert rec.best == "fallback" and rec.runner_up is None
    assert "P(late)" in rec.ranking.loc["cheap", "excluded_because"]


def test_max_mean_delay():
    o = outcomes(cheap=outcome(1e6, delay=30.0), **BASE)
    assert recommend(o, decision(max_mean_delay_days=None)).best == "cheap"
    assert recommend(o, decision(max_mean_delay_days=7.0)).best == "fallback"


def test_budget_chance_constraint():
    o = outcomes(cheap=outcome(1e6, spread=1.0), **BASE)  # heavy tail: exceeds $4M on ~3% of paths
    p_over = np.mean(o.cost[0] > 4e6)
    assert 0.015 < p_over < 0.05 and np.mean(o.cost[1] > 4e6) < 0.005
    assert recommend(o, decision(budget_usd=4e6, max_p_over_budget=0.1)).best == "cheap"
    rec = recommend(o, decision(budget_usd=4e6, max_p_over_budget=0.01))
    assert rec.best == "fallback"
    assert rec.ranking.loc["cheap", "p_over_budget"] == pytest.approx(p_over)


def test_capex_budget():
    o = outcomes(cheap=outcome(1e6, capex=5e5, kinds=("owned",)), **BASE)
    assert recommend(o, decision(capex_budget_usd=1e6)).best == "cheap"
    assert recommend(o, decision(capex_budget_usd=1e5)).best == "fallback"


def test_data_policy():
    o = outcomes(cheap=outcome(1e6, kinds=("owned", "spot")), fallback=outcome(2e6, kinds=("owned",)))
    assert recommend(o, decision()).best == "cheap"
    rec = recommend(o, decision(excluded_pool_kinds=["spot"]))
    assert rec.best == "fallback" and "spot" in rec.ranking.loc["cheap", "excluded_because"]
    assert recommend(o, decision(), closed_kinds={"spot"}).best == "fallback"  # the scenario's data policy


def test_no_admissible_strategy():
    rec = recommend(
        outcomes(a=outcome(1e6, p_late=0.9), b=outcome(2e6, p_late=0.9)), decision(max_p_late=0.1)
    )
    assert rec.best is None and not rec.ranking["admissible"].any()
    assert precision_reached(rec, 0.01)[0]


def test_objective_mean_versus_tail():
    """Lower mean but a heavier tail: the mean objective picks it, CVaR and a high quantile do not."""
    o = outcomes(risky=outcome(1.0e6, spread=1.2), steady=outcome(1.2e6, spread=0.05))
    assert recommend(o, decision(objective="mean")).best == "risky"
    assert recommend(o, decision(objective="cvar", level=0.95)).best == "steady"
    assert recommend(o, decision(objective="quantile", level=0.95)).best == "steady"


def test_within_noise_when_the_margin_is_below_z_se():
    same = outcome(1e6, noise=0.05)
    nudged = dict(same, cost=same["cost"] * (1 + 1e-4))  # 0.01% dearer on every path: not distinguishable
    close = recommend(outcomes(a=same, b=outcome(1e6, noise=0.05)), decision())
    assert close.within_noise and close.margin < close.z * close.margin_se
    far = recommend(outcomes(a=same, b=dict(same, cost=same["cost"] * 1.05)), decision())
    assert not far.within_noise and far.margin / far.margin_se > 10
    # with common random numbers even a 0.01% difference on every path is resolved: pathwise SE is ~0
    assert not recommend(outcomes(a=same, b=nudged), decision()).within_noise


def test_borderline_constraint_is_flagged():
    o = outcomes(cheap=outcome(1e6, p_late=0.2), **BASE)
    p = o.late[0].mean()
    rec = recommend(o, decision(max_p_late=float(p) + 0.001))
    assert rec.best == "cheap" and "P(late)" in rec.ranking.loc["cheap", "borderline"]
