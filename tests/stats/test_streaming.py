"""Streaming to any path count: exact moments, the quantile sketch's bound, and a streamed run against a kept one."""

from __future__ import annotations

import logging
import tracemalloc

import numpy as np
import pytest

from simulator.config.load import load_config
from simulator.decision.analyse import analyse
from simulator.decision.metrics import risk_metrics
from simulator.decision.outcomes import PathOutcomes, StreamedOutcomes
from simulator.engine.host import build_inputs, run_stream, simulate
from simulator.engine.progress import RunProgress
from simulator.engine.strategies import COST_CATEGORIES
from simulator.results.dataset import build_dataset
from simulator.stats.accumulators import LogSketch, Moments
from simulator.stats.collector import RunStatistics
from simulator.stats.compare import win_probability
from simulator.stats.estimators import cvar_and_se, difference_and_se
from simulator.stats.samples import sketch_quantile, sketch_tail_mean

ALPHA = 1e-3


def _samples(n: int = 40_001) -> np.ndarray:
    """Columns like the outputs: lognormal costs, costs with negatives, delays with an atom at zero."""
    rng = np.random.default_rng(7)
    return np.column_stack([
        rng.lognormal(15.0, 0.8, n),
        rng.normal(1e6, 2e6, n),
        np.where(rng.random(n) < 0.4, 0.0, rng.exponential(3.0, n)),
    ])


def test_moments_merge_exactly_in_any_grouping():
    x = _samples()
    for pieces in (1, 3, 17):
        merged = Moments.empty((3,))
        for part in np.array_split(x, pieces):
            merged = merged.merge(Moments.of(part))
        np.testing.assert_allclose(merged.mean, x.mean(axis=0), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(merged.variance, x.var(axis=0, ddof=1), rtol=1e-11)
        assert merged.count == len(x)


def test_sketch_quantiles_within_the_stated_relative_bound():
    x = _samples()
    sketch = LogSketch.empty(3, ALPHA)
    for part in np.array_split(x, 5):
        sketch.add(part)
    whole = LogSketch.empty(3, ALPHA)
    whole.add(x)
    np.testing.assert_array_equal(sketch.counts, whole.counts)  # merge is exact: counts add
    values = sketch.representatives()
    for j in range(3):
        for p in (0.0, 0.001, 0.05, 0.5, 0.9, 0.95, 0.999, 1.0):
            exact = np.quantile(x[:, j], p, method="lower")
            assert abs(sketch_quantile(sketch.counts[j], values, p) - exact) <= ALPHA * abs(exact) + 1e-6


def test_sketch_cvar_within_three_alpha_for_nonnegative_values():
    x = _samples()
    for j in (0, 2):
        sketch = LogSketch.empty(1, ALPHA)
        sketch.add(x[:, j : j + 1])
        for level in (0.9, 0.95, 0.99):
            value, sd = sketch_tail_mean(sketch.counts[0], sketch.representatives(), level)
            q = np.quantile(x[:, j], level, method="lower")
            z = q + np.maximum(x[:, j] - q, 0.0) / (1.0 - level)
            assert abs(value - z.mean()) <= 3 * ALPHA * z.mean()
            assert sd == pytest.approx(z.std(ddof=1), rel=0.01)
            # the metrics module interpolates its quantile; the Rockafellar-Uryasev CVaR is stationary in q, so
            # the choice of q moves it only at second order: the sketch bound alone applies
            assert value == pytest.approx(cvar_and_se(x[:, j], level)[0], rel=3 * ALPHA)


@pytest.fixture(scope="module")
def kept_and_streamed():
    """The same 1,280 paths run twice: every path kept, and streamed keeping the first 320."""
    overrides = ["scenario=hybrid", "engine.paths=1280", "engine.chunk_size=256", "engine.horizon_months=6",
                 "report.trajectory_paths=50", "decision.budget_usd=3000000", "decision.capex_budget_usd=500000",
                 "decision.funding_usd=1200000", "decision.funding_month=3"]
    full_cfg = load_config(overrides)
    streamed_cfg = load_config(overrides + ["report.path_level_paths=320"])
    runs = []
    for cfg in (full_cfg, streamed_cfg):
        sim = simulate(cfg)
        ds = build_dataset(sim, seed=0, resolved_config="", scenario="hybrid",
                           run_deadlines=[r.deadline_day for r in cfg.runs.values()])
        runs.append((cfg, ds))
    return runs


def test_streamed_dataset_keeps_the_first_paths_and_counts_all(kept_and_streamed):
    (_, full), (_, streamed) = kept_and_streamed
    assert streamed.attrs["paths"] == 1280 and streamed.sizes["path"] == 320
    assert streamed.sizes["trajectory_path"] == 50
    np.testing.assert_array_equal(streamed["cost"].values, full["cost"].values[:, :320])
    np.testing.assert_array_equal(streamed["cumulative_cost"].values, full["cumulative_cost"].values)
    cost = full["cost"].values
    np.testing.assert_allclose(streamed["stream_cost_mean"], cost.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(streamed["stream_cost_variance"], cost.var(axis=1, ddof=1), rtol=1e-10)
    diff = cost[None, :, :] - cost[:, None, :]  # [s, v] = cost_v - cost_s
    np.testing.assert_allclose(streamed["stream_cost_difference_mean"], diff.mean(-1), rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(streamed["stream_p_cheaper"], win_probability(cost)[0], atol=1e-12)
    np.testing.assert_allclose(streamed["stream_cost_by_category_mean"], full["cost_by_category"].mean("path"),
                               rtol=1e-10, atol=1e-6)


def test_streamed_metrics_match_the_path_level_ones(kept_and_streamed):
    (cfg, full), (_, streamed) = kept_and_streamed
    settings = dict(quantiles=(0.05, 0.5, 0.95), level=0.95, confidence=0.95, budget_usd=cfg.decision.budget_usd,
                    funding_usd=cfg.decision.funding_usd)
    exact = risk_metrics(PathOutcomes.from_dataset(full), **settings)
    sketched = risk_metrics(StreamedOutcomes(streamed), **settings)
    assert list(sketched.columns) == list(exact.columns)
    for column in ("cost_mean", "cost_mean_se", "cost_sd", "delay_mean", "p_late", "p_over_budget",
                   "p_on_budget_and_time", "p_on_budget_and_time_se", "peak_cash_mean", "peak_cash_mean_se",
                   "p_out_of_cash", "p_out_of_cash_se"):
        np.testing.assert_allclose(sketched[column], exact[column], rtol=1e-9, atol=1e-12, err_msg=column)
    for column in ("cost_p95_lo", "cost_p95_hi", "cost_p5_lo"):  # order statistics, within alpha
        np.testing.assert_allclose(sketched[column], exact[column], rtol=ALPHA, err_msg=column)
    # the sketch's VaR is the order statistic x_(floor(p (n - 1))) within alpha (the kept one interpolates)
    lower = np.quantile(full["cost"].values, 0.95, axis=1, method="lower")
    np.testing.assert_allclose(sketched["cost_var"], lower, rtol=ALPHA, err_msg="cost_var")
    np.testing.assert_allclose(sketched["cost_cvar"], exact["cost_cvar"], rtol=3 * ALPHA)  # the sketch's bound


@pytest.mark.parametrize("objective", ["mean", "cvar"])
def test_streamed_recommendation_matches_the_path_level_one(kept_and_streamed, objective):
    (cfg, full), (_, streamed) = kept_and_streamed
    cfg.decision.objective = objective
    cfg.decision.sensitivity.enabled = False
    exact, sketched = analyse(full, cfg), analyse(streamed, cfg)
    assert exact.paths == sketched.paths == 1280
    assert list(sketched.recommendation.ranking.index) == list(exact.recommendation.ranking.index)
    rec, ranking = exact.recommendation, exact.recommendation.ranking
    if objective == "mean":  # exact streamed moments: equal up to float64 rounding
        assert sketched.recommendation.margin == pytest.approx(rec.margin, rel=1e-9)
        assert sketched.recommendation.margin_se == pytest.approx(rec.margin_se, rel=1e-9)
    else:  # each CVaR within 3 alpha of itself (the sketch's bound), so the margin within the sum of both bounds
        bound = 3 * ALPHA * (abs(ranking.loc[rec.best, "objective"]) + abs(ranking.loc[rec.runner_up, "objective"]))
        assert abs(sketched.recommendation.margin - rec.margin) <= bound
        # plug-in SE: the pathwise influence SD of the 320 kept paths over sqrt(all 1,280), computed independently
        kept = streamed["cost"].sel(strategy=[rec.runner_up, rec.best]).values
        _, kept_se = difference_and_se(kept[0], kept[1], cfg.decision.objective, cfg.decision.level)
        assert sketched.recommendation.margin_se == pytest.approx(kept_se * np.sqrt(320 / 1280), rel=1e-9)
    # streamed counts split ties in half, the path-level count is strict: they differ by half the tied paths
    costs = full["cost"].sel(strategy=[rec.best, rec.runner_up]).values
    ties = np.mean(costs[0] == costs[1])
    assert abs(sketched.recommendation.p_best_cheaper - rec.p_best_cheaper) <= 0.5 * ties + 1e-12


def test_host_memory_stays_flat_as_paths_grow():
    """Allocations that outlive a chunk: the same for 4 and for 16 chunks when path-level data are capped."""
    cfg = load_config(["scenario=hybrid", "engine.horizon_months=4"])
    inputs, grid = build_inputs(cfg)

    def peak(paths: int) -> int:
        stats = RunStatistics(len(cfg.strategies), len(cfg.runs), len(COST_CATEGORIES),
                              capex_column=COST_CATEGORIES.index("capex"), budget_usd=None, capex_budget_usd=None, relative_accuracy=ALPHA)
        run_stream(inputs, grid, 0, 128, 128, keep_paths=64, statistics=stats)  # compile outside the trace
        tracemalloc.start()
        run_stream(inputs, grid, 0, paths, 128, keep_paths=64, trajectory_paths=64, statistics=stats)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(4 * 128), peak(16 * 128)
    assert large < small * 1.1 + 200_000, (small, large)


def test_progress_logs_chunks_rate_and_precision(caplog):
    progress = RunProgress(1000, 100, log_every_seconds=0.0)
    with caplog.at_level(logging.INFO, logger="simulator"):
        progress.update(200, np.column_stack([np.full(200, 2.0), np.tile([0.0, 2.0], 100)]))
        progress.update(300, np.column_stack([np.full(100, 2.0), np.tile([0.0, 2.0], 50)]))
    assert "chunk 3/10" in caplog.text and "paths/s" in caplog.text
    se = np.sqrt(np.var(np.tile([0.0, 2.0], 150), ddof=1) / 300)  # lowest mean cost: 1.0
    assert f"SE of lowest mean cost {se:.3%}" in caplog.text


def test_summary_says_which_statistics_are_streamed(kept_and_streamed):
    from simulator.report.markdown import decision_markdown

    (cfg, full), (_, streamed) = kept_and_streamed
    cfg.decision.sensitivity.enabled = False
    cfg.decision.level = 0.9
    text = decision_markdown(analyse(streamed, cfg), scenario="hybrid", description="", seconds=1.0)
    assert "Streamed run" in text and "all 1,280 paths" in text and "first 320 paths" in text
    assert "CVaR90" in text  # the level of the decision config reaches the report
    full_text = decision_markdown(analyse(full, cfg), scenario="hybrid", description="", seconds=1.0)
    assert "Streamed run" not in full_text
