"""Decision analytics on the engine: precision on demand stops at its target, the tornado keeps common random
numbers, and a small run's analysis, report and plots are complete."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from simulator.app.tornado_rerun import EngineRerun, pin_prior, prior_quantile
from simulator.config.load import load_config
from simulator.decision.analyse import analyse, precision_rule, write_tables
from simulator.decision.outcomes import PathOutcomes
from simulator.decision.recommend import precision_reached, recommend
from simulator.decision.sensitivity import tornado
from simulator.engine.host import build_inputs, run_paths, run_until, simulate
from simulator.results.dataset import build_dataset

SMALL = ["scenario=hybrid", "engine.horizon_months=6", "engine.chunk_size=64", "report.trajectory_paths=16"]


@pytest.fixture(scope="module")
def small():
    """Two strategies, the pair the tornado re-runs: every test here shares one compiled engine shape."""
    cfg = load_config(SMALL)
    return dataclasses.replace(cfg, strategies={name: cfg.strategies[name] for name in ("hybrid", "spot")})


def test_auto_paths_stops_at_the_target(small):
    """Only spot (spot + on-demand fallback) is admissible, so the rule is SE(mean cost) <= target; it stops at the
    first chunk that meets it, and the paths are exactly those of a fixed run of that size."""
    cfg = dataclasses.replace(
        small,
        engine=dataclasses.replace(small.engine, paths="auto", max_paths=64 * 20),
        decision=dataclasses.replace(small.decision, excluded_pool_kinds=["owned"], target_relative_se=0.04),
    )
    inputs, grid = build_inputs(cfg)
    rule, seen = precision_rule(cfg), []

    def enough(outputs):
        met = rule(outputs)
        seen.append((len(outputs["cost"]), met))
        return met

    outputs, parameters, _ = run_until(inputs, grid, cfg.engine.seed, 64, cfg.engine.max_paths, enough, 16)
    n = len(outputs["cost"])
    assert [k for k, _ in seen] == list(range(64, n + 1, 64))
    assert seen[-1] == (n, True) and not any(met for _, met in seen[:-1])
    assert n < cfg.engine.max_paths
    cost = outputs["cost"][:, list(cfg.strategies).index("spot")]
    assert np.std(cost, ddof=1) / np.sqrt(n) <= 0.04 * cost.mean()
    before = cost[: n - 64]
    assert np.std(before, ddof=1) / np.sqrt(before.size) > 0.04 * before.mean()
    fixed, fixed_parameters, _ = run_paths(inputs, grid, cfg.engine.seed, n, 64, 16)
    for name, values in fixed.items():
        np.testing.assert_array_equal(outputs[name], values, err_msg=name)
    for name, values in fixed_parameters.items():
        np.testing.assert_array_equal(parameters[name], values, err_msg=name)


def test_auto_paths_stops_at_the_cap(small):
    cfg = dataclasses.replace(
        small,
        engine=dataclasses.replace(small.engine, paths="auto", max_paths=150),
        decision=dataclasses.replace(small.decision, target_relative_se=1e-6),
    )
    sim = simulate(cfg, precision_rule(cfg))
    assert sim.outputs["cost"].shape[0] == 150
    inputs, grid = build_inputs(cfg)
    fixed, _, _ = run_paths(inputs, grid, cfg.engine.seed, 150, 64, 16)
    np.testing.assert_array_equal(sim.outputs["cost"], fixed["cost"])
    rec = recommend(PathOutcomes.from_engine(sim.outputs, list(cfg.strategies)), cfg.decision)
    assert not precision_reached(rec, 1e-6)[0]
    with pytest.raises(ValueError, match="stopping rule"):
        simulate(cfg)


def test_pinned_prior_keeps_every_other_draw(small):
    inputs, grid = build_inputs(small)
    name = "market.drift_per_year"
    value = prior_quantile(inputs, name, 0.9)
    base, base_params, _ = run_paths(inputs, grid, 0, 64, 64, 0)
    pinned, pinned_params, _ = run_paths(pin_prior(inputs, name, value), grid, 0, 64, 64, 0)
    np.testing.assert_allclose(pinned_params[name], value, rtol=1e-6)
    assert np.mean(base_params[name] < value) == pytest.approx(0.9, abs=0.1)
    for other in base_params:
        if other != name:
            np.testing.assert_array_equal(base_params[other], pinned_params[other], err_msg=other)
    assert not np.array_equal(base["cost"], pinned["cost"])


def test_tornado_runs_the_pair_on_common_random_numbers(small):
    cfg = dataclasses.replace(
        small,
        decision=dataclasses.replace(
            small.decision, sensitivity=dataclasses.replace(small.decision.sensitivity, tornado_paths=64)
        ),
    )
    frame = tornado(EngineRerun(cfg), ("hybrid", "spot"), ["providers.hyperscaler.spot_discount"], cfg.decision)
    inputs, grid = build_inputs(cfg)
    full, _, _ = run_paths(inputs, grid, cfg.engine.seed, 64, 64, 0)
    names = list(cfg.strategies)
    margin = full["cost"][:, names.index("spot")] - full["cost"][:, names.index("hybrid")]
    assert frame.attrs["base_margin"] == pytest.approx(margin.mean(), rel=1e-6)
    row = frame.loc["providers.hyperscaler.spot_discount"]
    # a deeper spot discount makes spot cheaper relative to the hybrid (whose spot share is smaller)
    assert row["high_margin"] < row["low_margin"]
    assert row["swing"] > 3 * max(row["low_change_se"], row["high_change_se"])
    # with the main run's margin as reference, the bars are that margin moved by the measured changes
    shifted = tornado(EngineRerun(cfg), ("hybrid", "spot"), ["providers.hyperscaler.spot_discount"], cfg.decision, (1e5, 1e4)).loc[
        "providers.hyperscaler.spot_discount"
    ]
    for end in ("low", "high"):
        assert shifted[f"{end}_margin"] == pytest.approx(
            1e5 + row[f"{end}_margin"] - frame.attrs["base_margin"]
        )
        assert shifted[f"{end}_margin_se"] == pytest.approx(np.hypot(1e4, row[f"{end}_change_se"]))


def test_analysis_of_a_small_run_is_complete(small, tmp_path):
    from simulator.report.decision_plots import save_decision_plots
    from simulator.report.markdown import decision_markdown

    cfg = dataclasses.replace(
        small,
        engine=dataclasses.replace(small.engine, paths=256),
        decision=dataclasses.replace(
            small.decision,
            budget_usd=3e6,
            sensitivity=dataclasses.replace(small.decision.sensitivity, tornado_paths=64, tornado_priors=2),
        ),
    )
    sim = simulate(cfg)
    ds = build_dataset(sim, seed=0, resolved_config="", scenario="hybrid", run_deadlines=[180.0])
    analysis = analyse(ds, cfg, rerun=EngineRerun(cfg))
    assert analysis.recommendation.best in cfg.strategies
    assert len(analysis.tornado) == 2 and len(analysis.indices) > 2
    metrics = analysis.metrics
    np.testing.assert_allclose(metrics["cost_mean"], ds["cost"].mean("path").values)
    assert (metrics["cost_p95_lo"] <= metrics["cost_p95"]).all() and (
        metrics["cost_p95"] <= metrics["cost_p95_hi"]
    ).all()
    assert (metrics["cost_cvar"] >= metrics["cost_var"]).all()
    assert (metrics["p_on_budget_and_time"] <= 1 - metrics["p_late"] + 1e-12).all()
    text = decision_markdown(analysis, scenario="hybrid", description="test", seconds=1.0)
    for heading in (
        "## Recommendation",
        "## Ranking",
        "## Cost",
        "## Delay",
        "## Pairwise",
        "## Sensitivity",
    ):
        assert heading in text
    assert "depends mostly on" in text and "±" in text
    risk = analysis.robustness  # decision risk leads, Monte Carlo precision after; EVPI is the mean-best's regret
    assert text.index("Decision risk:") < text.index("Margin over") and "## Robustness and value of information" in text
    admissible = [s for s in cfg.strategies if analysis.metrics.loc[s, "admissible"]]
    cost = ds["cost"].sel(strategy=admissible).values
    rec = admissible.index(analysis.recommendation.best)
    ties = cost == cost.min(axis=0)  # a tie for the cheapest shares the path
    assert risk.p_best == pytest.approx(np.mean(ties[rec] / ties.sum(axis=0)))
    assert risk.regret == pytest.approx(np.mean(cost[rec] - cost.min(axis=0)), rel=1e-6)
    if len(admissible) > 1:
        assert risk.information.evpi == pytest.approx(risk.regret, rel=1e-6)
        assert (risk.information.table["evppi"] >= 0).all()
    names = {p.name for p in write_tables(analysis, tmp_path)} | {
        p.name for p in save_decision_plots(analysis, tmp_path)
    }
    assert {
        "summary.csv",
        "recommendation.csv",
        "pairwise_win.csv",
        "tornado.csv",
        "risk_map.png",
        "win_probability.png",
        "tornado.png",
        "evppi.csv",
        "evppi.png",
    } <= names
    verdict = pd.read_csv(tmp_path / "recommendation.csv")
    assert list(verdict.columns) == ["best", "runner_up", "margin", "margin_se", "z"] and len(verdict) == 1
    assert verdict.loc[0, "best"] == analysis.recommendation.best
    assert verdict.loc[0, "margin"] == pytest.approx(analysis.recommendation.margin)
