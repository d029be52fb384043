"""Spot pools: the good/bad reclaim mixture over paths, and obtainability falling with the instances asked at once."""

import numpy as np
import pytest
from conftest import fixed, pinned, run_config, strategy

from simulator.config.schema import RunConfig
from simulator.engine.processes import spot
from simulator.engine.strategies import COST_CATEGORIES

CAT = {name: i for i, name in enumerate(COST_CATEGORIES)}


def test_mean_reclaims_match_the_good_bad_mixture(flat):
    """Steady work on spot: per path ``N ~ Poisson(lambda W / g)`` on its ``W`` wall GPU-hours, ``lambda`` the bad
    pool's with probability ``b``: ``E[g N / W] = b lambda_bad + (1 - b) lambda_good`` over paths."""
    b, good, bad, g = 0.3, 2e-3, 0.05, 8.0
    flat.strategies = {"spot": strategy(("spot", 4096), interval=0.01)}
    flat.priors.workload.checkpoint_cost_hours = fixed(0.0)
    flat.priors.workload.restart_hours = fixed(0.0)
    flat.priors.spot.gpus_per_instance = fixed(g)
    flat.priors.spot.reclaim_per_instance_hour = fixed(good)
    flat.priors.spot.bad_reclaim_per_instance_hour = fixed(bad)
    flat.priors.spot.bad_pool_probability = fixed(b)
    out, params, _ = run_config(flat, 2000)
    price = (1.0 - params["providers.hyperscaler.spot_discount"]) * params["providers.hyperscaler.on_demand_usd_per_gpu_hour"]
    wall = out["cash_by_category"][:, 0, CAT["spot"]] / price
    rate = g * out["spot_interruptions"][:, 0] / wall
    expected = b * bad + (1.0 - b) * good
    z = (rate.mean() - expected) / (rate.std(ddof=1) / np.sqrt(rate.size))
    assert abs(z) < 4, (rate.mean(), expected, z)
    # two clusters of paths, at the two hazards (a good pool never sees the bad pool's count)
    assert abs(np.mean(rate > np.sqrt(good * bad)) - b) < 4 * np.sqrt(b * (1 - b) / rate.size)


@pytest.mark.parametrize("width", [1, 8, 9, 16, 64, 128])
def test_obtain_probability_closed_form(width):
    g, p16 = 8.0, 0.4
    k = spot.instances_needed(float(width), g)
    assert float(k) == max(1, int(np.ceil(width / g)))
    p = float(spot.obtain_probability(k, p16))
    assert p == pytest.approx(p16 ** ((float(k) - 1.0) / 15.0), rel=1e-6)
    assert float(spot.obtain_probability(1.0, 0.0)) == 1.0  # one instance: always, while spot is available
    assert float(spot.obtain_probability(16.0, p16)) == pytest.approx(p16)
    assert float(spot.obtain_probability(k + 1.0, p16)) < p or p16 == 1.0  # falls with k


@pytest.fixture
def one_step_run(hybrid):
    """A run that finishes within its first step, on spot if the request is granted, else on-demand."""
    cfg = pinned(hybrid)
    cfg.engine.horizon_months = 1
    cfg.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    cfg.priors.spot.gpus_per_instance = fixed(8.0)
    cfg.strategies = {"spot_first": strategy(("spot", 4096), ("on_demand", 4096))}
    return cfg


@pytest.mark.parametrize("width", [32, 128])
def test_engine_acquires_spot_at_the_obtain_probability(one_step_run, width):
    p16 = 0.2
    one_step_run.priors.spot.obtain_16_probability = fixed(p16)
    one_step_run.runs = {"r": RunConfig(gpu_hours=fixed(float(width)), gpus=width, start_day=0.0,
                                        deadline_day=20.0)}
    paths = 2000
    out, _, _ = run_config(one_step_run, paths)
    on_spot = out["cash_by_category"][:, 0, CAT["spot"]] > 0
    on_od = out["cash_by_category"][:, 0, CAT["on_demand"]] > 0
    assert np.all(on_spot ^ on_od)  # the run ran once, on one of them
    p = p16 ** ((width / 8 - 1) / 15)
    z = (on_spot.mean() - p) / np.sqrt(p * (1 - p) / paths)
    assert abs(z) < 4, (on_spot.mean(), p, z)


def test_single_instance_always_and_impossible_requests_never(one_step_run):
    """``p(1) = 1``: a run of one instance always gets spot; with ``p16 = 0`` a wider one never does (exact)."""
    one_step_run.priors.spot.obtain_16_probability = fixed(0.0)
    one_step_run.runs = {"narrow": RunConfig(gpu_hours=fixed(8.0), gpus=8, start_day=0.0, deadline_day=20.0)}
    out, _, _ = run_config(one_step_run, 64)
    assert np.all(out["cash_by_category"][:, 0, CAT["on_demand"]] == 0)
    one_step_run.runs = {"wide": RunConfig(gpu_hours=fixed(16.0), gpus=16, start_day=0.0, deadline_day=20.0)}
    out, _, _ = run_config(one_step_run, 64)
    assert np.all(out["cash_by_category"][:, 0, CAT["spot"]] == 0)
    assert np.all(out["cash_by_category"][:, 0, CAT["on_demand"]] > 0)


def test_a_run_holding_spot_keeps_it(one_step_run):
    """A long run granted spot at its start stays there (no reclaims, spot always available): it never pays
    on-demand, whatever later requests would have drawn; one not granted may get spot later."""
    one_step_run.priors.spot.obtain_16_probability = fixed(0.2)
    one_step_run.runs = {"long": RunConfig(gpu_hours=fixed(32 * 24 * 20.0), gpus=32, start_day=0.0,
                                           deadline_day=40.0)}
    out, _, _ = run_config(one_step_run, 400)
    spot_usd = out["cash_by_category"][:, 0, CAT["spot"]]
    od_usd = out["cash_by_category"][:, 0, CAT["on_demand"]]
    only_spot = od_usd == 0
    p = 0.2 ** (3 / 15)
    assert abs(only_spot.mean() - p) < 4 * np.sqrt(p * (1 - p) / 400)  # granted at the first step
    assert np.all(spot_usd[only_spot] > 0)
    assert np.all(out["spot_interruptions"][:, 0] == 0)
