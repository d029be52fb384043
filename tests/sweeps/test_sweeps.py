"""In-engine sweeps: the grid expands into strategy variants run in one compiled program; the base-sizing
optimum matches the newsvendor solution.

Newsvendor set-up: steady demand D per path, lognormal (median m, log-sd s), flat over time; an owned base of n GPUs
costs h per GPU over the horizon (purchase, nothing else: no power, staff, facility, support, fabric, build-out,
resale or failures, no cloud operations or dataset; 4,096 on-demand GPUs leave no shortfall); work
beyond the base (wall GPU-hours 1.05 D per day) runs on on-demand at p per GPU-hour for T days. Then

    E[cost(n)] = n h + T p E[(1.05 D - 24 n)^+]

(a lognormal partial expectation), minimised at ``n* = F^{-1}(1 - h / (24 T p))`` of the GPUs demanded
``1.05 D / 24`` (the newsvendor critical fractile).
"""

import numpy as np
import pytest
from conftest import fixed, pinned, run_config, strategy
from scipy import stats

from simulator.config.errors import ConfigError
from simulator.config.schema import SweepConfig
from simulator.config.sweeps import expand_sweeps
from simulator.sweeps.knobs import best_value
from tests.engine.test_costs import lean

VALUES = [0, 4, 8, 12, 16, 20, 24, 32]


@pytest.fixture
def newsvendor(hybrid):
    cfg = pinned(hybrid)
    cfg.engine.horizon_months = 12
    cfg.engine.discount_rate_per_year = 0.0
    cfg.runs = {}
    cfg.priors.workload.base_gpu_hours_per_day = type(cfg.priors.workload.base_gpu_hours_per_day)(
        dist="lognormal", median=240.0, p90=480.0)
    cfg.priors.workload.growth_multiplier_per_year = fixed(1.0)
    for name in ("electricity_usd_per_kwh",):
        setattr(cfg.priors.market, name, fixed(0.0))
    for name in ("facility_usd_per_kw_month", "fte_per_100_gpus", "min_fte", "fixed_usd_per_month"):
        setattr(cfg.priors.onprem, name, fixed(0.0))
    cfg.priors.owned.resale_retention_per_year = fixed(0.0)
    cfg.priors.market.hardware_usd_per_gpu = fixed(20_000.0)
    lean(cfg)  # no support, fabric, build-out, cloud operations or dataset: the purchase is all an owned GPU costs
    cfg.strategies = {"hybrid": strategy(("owned", 0), ("on_demand", 4096))}
    cfg.sweeps = {"base": SweepConfig(strategy="hybrid", knob="pools.owned.gpus", values=VALUES)}
    return expand_sweeps(cfg)


def expected_cost(n, horizon_days, price, h=20_000.0, median=240.0, p90=480.0):
    sigma = np.log(p90 / median) / stats.norm.ppf(0.9)
    mu = np.log(1.05 * median)  # wall demand 1.05 D is lognormal(mu, sigma)
    k = 24.0 * np.maximum(n, 1e-9)
    d1 = (mu + sigma**2 - np.log(k)) / sigma
    partial = np.exp(mu + sigma**2 / 2) * stats.norm.cdf(d1) - k * stats.norm.cdf(d1 - sigma)
    partial = np.where(n == 0, np.exp(mu + sigma**2 / 2), partial)
    return n * h + horizon_days * price * partial


def test_sweep_expands_to_variants(newsvendor):
    assert list(newsvendor.strategies) == [f"hybrid@pools.owned.gpus={v}" for v in VALUES]
    assert [s.pools["owned"].gpus for s in newsvendor.strategies.values()] == VALUES


def test_base_sizing_matches_newsvendor(newsvendor):
    out, _, grid = run_config(newsvendor, 4000)
    cost = out["cost"].T  # (values, paths)
    n = np.asarray(VALUES, float)
    exact = expected_cost(n, grid.horizon_days, 5.4)
    se = cost.std(axis=1, ddof=1) / np.sqrt(cost.shape[1])
    z = (cost.mean(axis=1) - exact) / se
    assert np.all(np.abs(z) < 4), z
    sigma = np.log(2.0) / stats.norm.ppf(0.9)
    fractile = 1 - 20_000.0 / (24 * grid.horizon_days * 5.4)
    n_star = 1.05 * 240.0 * np.exp(sigma * stats.norm.ppf(fractile)) / 24.0
    result = best_value(cost, VALUES, confidence=0.95)
    grid_best = VALUES[int(np.argmin(exact))]
    assert abs(grid_best - n_star) <= 4  # the grid point nearest the newsvendor optimum (spacing 4)
    assert grid_best in result["within_noise"]
    assert min(result["within_noise"]) - 4 <= n_star <= max(result["within_noise"]) + 4  # within one grid step


def test_bad_sweeps_are_one_line_errors(hybrid):
    hybrid.sweeps = {"x": SweepConfig(strategy="nosuch", knob="pools.base.gpus", values=[1])}
    with pytest.raises(ConfigError, match="sweeps.x.strategy"):
        expand_sweeps(hybrid)
    hybrid.sweeps = {"x": SweepConfig(strategy="hybrid", knob="pools.nosuch.gpus", values=[1])}
    with pytest.raises(ConfigError, match="sweeps.x.knob"):
        expand_sweeps(hybrid)
    hybrid.sweeps = {"x": SweepConfig(strategy="hybrid", knob="pools.base.gpus", values=[1.5])}
    with pytest.raises(ConfigError, match="whole numbers"):
        expand_sweeps(hybrid)


def test_streamed_sweep_optimum_matches_the_path_level_one():
    """A streamed run (first paths kept) reports the same optimum, means and SEs over all its paths."""
    from simulator.config.load import load_config
    from simulator.config.sweeps import variant_name
    from simulator.engine.host import simulate
    from simulator.results.dataset import build_dataset
    from simulator.sweeps.knobs import best_value_streamed, sweep_dataset

    base = ["scenario=sizing", "engine.paths=640", "engine.chunk_size=128", "engine.horizon_months=4"]
    datasets = []
    for extra in ([], ["report.path_level_paths=128"]):
        cfg = load_config(base + extra)
        ds = build_dataset(simulate(cfg), seed=0, resolved_config="", scenario="sizing", run_deadlines=[180.0])
        datasets.append(sweep_dataset(ds, cfg.sweeps))
    sweep = cfg.sweeps["base_gpus"]
    labels = [variant_name(sweep.strategy, sweep.knob, v) for v in sweep.values]
    full, streamed = datasets
    assert streamed.sizes["path"] == 128 and streamed.attrs["paths"] == 640
    exact = best_value(full["sweep_base_gpus_cost"].values, list(sweep.values), confidence=0.95)
    result = best_value_streamed(streamed, labels, list(sweep.values), confidence=0.95)
    assert result["best"] == exact["best"] and result["within_noise"] == exact["within_noise"]
    np.testing.assert_allclose(result["means"], exact["means"], rtol=1e-10)
    np.testing.assert_allclose(result["se_vs_best"], exact["se_vs_best"], rtol=1e-7, atol=1e-6)
