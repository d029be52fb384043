"""engine.sampling=qmc, streamed: the per-scramble statistics over all paths give the same replicate SEs as every path
kept, and the kept paths' SEs scale by ``sqrt(m / n)`` where a statistic is not streamed."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.config.load import load_config
from simulator.decision.metrics import margin, risk_metrics, win_matrix
from simulator.decision.outcomes import PathOutcomes, StreamedOutcomes
from simulator.engine.host import simulate
from simulator.results.dataset import build_dataset
from simulator.stats.estimators import se_of_mean
from simulator.stats.replicates import path_groups


@pytest.fixture(scope="module")
def kept_and_streamed():
    """The same 640 qmc paths (16 scrambles) run twice: every path kept, and streamed keeping the first 160."""
    overrides = ["scenario=hybrid", "engine.paths=640", "engine.chunk_size=128", "engine.horizon_months=4",
                 "engine.sampling=qmc", "report.trajectory_paths=10", "decision.budget_usd=600000",
                 "decision.funding_usd=400000"]
    runs = []
    for extra in ([], ["report.path_level_paths=160"]):
        cfg = load_config(overrides + extra)
        cfg.strategies = {name: cfg.strategies[name] for name in ("neocloud", "marketplace")}
        ds = build_dataset(simulate(cfg), seed=0, resolved_config="", scenario="hybrid",
                           run_deadlines=[r.deadline_day for r in cfg.runs.values()])
        runs.append((cfg, ds))
    return runs


def test_streamed_replicate_ses_match_the_kept_ones(kept_and_streamed):
    (cfg, full), (_, streamed) = kept_and_streamed
    assert full.attrs["qmc_scrambles"] == 16 and streamed.sizes["path"] == 160
    np.testing.assert_array_equal(streamed["stream_scramble_paths"], np.full(16, 40.0))
    exact, sketched = PathOutcomes.from_dataset(full), StreamedOutcomes(streamed)
    assert exact.scramble is not None and np.array_equal(exact.scramble, np.arange(640) % 16)
    settings = dict(quantiles=(0.5,), level=0.95, confidence=0.95, budget_usd=cfg.decision.budget_usd,
                    funding_usd=cfg.decision.funding_usd)
    a, b = risk_metrics(exact, **settings), risk_metrics(sketched, **settings)
    for column in ("cost_mean_se", "delay_mean_se", "p_late_se", "p_over_budget_se", "p_on_budget_and_time_se",
                   "p_out_of_cash_se", "peak_cash_mean_se", "spend_mean_se", "shortfall_mean_se",
                   "delivered_gpu_hours_mean_se", "usd_per_gpu_hour_se"):
        np.testing.assert_allclose(b[column], a[column], rtol=1e-8, atol=1e-12, err_msg=column)
    # an independent computation: the spread of the 16 scramble means over sqrt(16)
    cost = full["cost"].values[0]
    by_scramble = cost.reshape(40, 16).mean(axis=0)
    assert a["cost_mean_se"].iloc[0] == pytest.approx(np.std(by_scramble, ddof=1) / 4, rel=1e-9)
    np.testing.assert_allclose(win_matrix(sketched)[1], win_matrix(exact)[1], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("objective", ["mean", "cvar"])
def test_streamed_margin_se(kept_and_streamed, objective):
    (cfg, full), (_, streamed) = kept_and_streamed
    cfg.decision.objective = objective
    exact, sketched = PathOutcomes.from_dataset(full), StreamedOutcomes(streamed)
    if objective == "mean":
        assert margin(sketched, 1, 0, cfg.decision)[1] == pytest.approx(margin(exact, 1, 0, cfg.decision)[1],
                                                                        rel=1e-8)
    else:  # from the 160 kept paths' influence values, scaled by sqrt(160 / 640)
        kept = sketched.path_level
        psi = kept.influence_difference(1, 0, "cvar", cfg.decision.level)
        expected = se_of_mean(psi, groups=path_groups(np.arange(160), 16)) * np.sqrt(160 / 640)
        assert margin(sketched, 1, 0, cfg.decision)[1] == pytest.approx(expected, rel=1e-9)
