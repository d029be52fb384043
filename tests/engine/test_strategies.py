"""Every strategy's mechanics against an independent computation (by hand, a closed form, or a plain loop).

Shared set-up (``conftest.flat``): pinned priors, flat demand D = 240 GPU-h/day (light share 0.2: 48 light, 192
heavy), checkpoint overhead 5% (wall = 1.05 x useful), on-demand $5.40/GPU-h, a 12-month horizon of 360 steps
(dt = 1.0146 days), no discounting.
"""

from pathlib import Path

import numpy as np
import pytest
from conftest import daly_expected_hours, fixed, run_config, strategy

from simulator.config.load import load_config
from simulator.config.schema import ExpansionConfig, RunConfig
from simulator.engine.strategies import CATEGORY_INDEX
from tests.engine.test_costs import lean

YEAR = 365.25
WALL = 1.05  # checkpoint overhead: wall GPU-hours per useful GPU-hour


def cash(out, strategy_index, name):
    return out["cash_by_category"][:, strategy_index, CATEGORY_INDEX[name]]


def at_reference_speed(cfg, gpu="a100"):
    """The academic and notebook pools' default GPU type (a100) at the reference throughput, for closed forms about
    a kind's mechanics rather than its GPU generation (tests/engine/test_gpu_types.py has those)."""
    cfg.gpus[gpu].throughput = 1.0
    return cfg


def only_run(cfg, gpu_hours, gpus, start=0.0, deadline=300.0):
    cfg.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    cfg.runs = {"run": RunConfig(gpu_hours=fixed(gpu_hours), gpus=gpus, start_day=start, deadline_day=deadline)}


def test_colocation_cost_by_hand(flat):
    lean(flat).strategies = {"colo": strategy(("owned", 16, {"hosting": "colo"}))}
    out, _, _ = run_config(flat, 2)
    by_hand = {
        "capex": 16 * 30_000.0,
        "power": (252.0 * 0.7 + 0.3 * 384.0) * 1.05 * 1.45 * 0.09 * YEAR,  # colo PUE 1.45
        # rent on the 30 kW committed (16 x 1.05 = 16.8 kW installed) + remote hands
        "facility": 30.0 * 250.0 * 12 + 1000.0 * 12,  # retail rent median $250/kW-month
        "staff": 0.25 * 230_000.0,  # max(min 0.25, 0.5 x 16 / 100) FTE
        "residual": -16 * 30_000.0 * 0.675 * (1 - 0.15),  # less the sale fee
    }
    for name, value in by_hand.items():
        np.testing.assert_allclose(cash(out, 0, name), value, rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(out["cost"][:, 0], sum(by_hand.values()), rtol=1e-5)


@pytest.fixture
def centre(flat):
    a = flat.priors.academic
    a.partnership_probability, a.admin_lead_days, a.first_allocation_day = fixed(1.0), fixed(10.0), fixed(125.0)
    a.application_lead_days, a.acceptance_probability = fixed(100.0), fixed(0.5)
    a.allocation_gpus, a.usable_fraction, a.opportunistic_gpus = fixed(8.0), fixed(0.5), fixed(1.0)
    a.queue_wait_days, a.usd_per_gpu_hour, a.partnership_usd_per_year = fixed(0.0), fixed(1.0), fixed(0.0)
    flat.strategies = {"academic": strategy(("academic", 1024))}
    return flat


def test_academic_capacity_follows_partnership_and_cycle(centre):
    """Saturated centre: GPU-hours used = 24 dt sum_t G(t), G = 1[t >= 10] (1 + 4 1[cycle funded] 1[t >= 125])."""
    centre.priors.workload.base_gpu_hours_per_day = fixed(10_000.0)
    out, _, grid = run_config(centre, 2000)
    t = np.arange(grid.months * grid.steps_per_month) * grid.dt_days
    hours = 24 * grid.dt_days
    unfunded = hours * np.sum(t >= 10.0)
    funded = unfunded + 4 * hours * np.sum(t >= 125.0)
    used = cash(out, 0, "academic")
    is_funded = np.isclose(used, funded, rtol=1e-5)
    assert np.all(is_funded | np.isclose(used, unfunded, rtol=1e-5))
    share = is_funded.mean()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / used.size)


def test_academic_fee_only_for_a_pool_with_gpus(centre):
    """The partnership fee is paid by a strategy whose academic pool is capped above 0 GPUs, not by a 0-GPU cap."""
    centre.priors.academic.partnership_usd_per_year = fixed(36_525.0)  # $100 a day
    centre.strategies = {"none": strategy(("academic", 0), ("on_demand", 1024)),
                         "some": strategy(("academic", 8), ("on_demand", 1024))}
    out, _, _ = run_config(centre, 2)
    np.testing.assert_array_equal(cash(out, 0, "academic"), 0.0)
    assert np.all(cash(out, 1, "academic") >= 100.0 * 365.25 * 0.999)


def test_academic_queue_wait_is_added_to_delay(centre):
    centre.priors.academic.opportunistic_gpus = fixed(1000.0)
    centre.priors.academic.admin_lead_days = fixed(0.0)
    centre.priors.academic.queue_wait_days = fixed(2.0)
    out, _, _ = run_config(centre, 2)
    np.testing.assert_allclose(out["delay"][:, 0], 2.0, rtol=1e-4)


def test_academic_walltime_resubmission(centre):
    """A run resubmitted every walltime W with queue Q: T = work x 1.05 / 24 x (W + 24 Q + R) / W / f days (``f`` the
    throughput of the centre's GPU type, an a100 by default)."""
    centre.priors.academic.opportunistic_gpus = fixed(1000.0)
    centre.priors.academic.admin_lead_days = fixed(0.0)
    centre.priors.academic.queue_wait_days = fixed(0.5)
    only_run(centre, 8 * 1000.0, 8)
    out, _, _ = run_config(centre, 2)
    expected = 1000.0 * WALL / 24 * (168.0 + 12.0 + 0.25) / 168.0 / centre.gpus["a100"].throughput
    np.testing.assert_allclose(out["run_finish_day"][:, 0, 0], expected, rtol=1e-5)


def test_marketplace_price_and_tiers(flat):
    flat.strategies = {"market": strategy(("marketplace", 512)),
                       "bid": strategy(("marketplace", 512, {"interruptible": True}))}
    out, _, _ = run_config(flat, 2)
    on_demand_tier = 240.0 * WALL * YEAR * 0.35 * 5.4  # ratio 0.35 of the on-demand price
    np.testing.assert_allclose(cash(out, 0, "marketplace"), on_demand_tier, rtol=1e-5)
    np.testing.assert_allclose(cash(out, 1, "marketplace"), on_demand_tier * 0.5, rtol=1e-5)  # 50% bid discount
    assert np.all(out["delay"] < 1e-9)


def test_marketplace_interruptions_match_daly(flat):
    """Interruptible tier: host failures + outbids at 0.096 per host-hour on one host (a marketplace run is at most
    one host wide); Daly's completion time."""
    flat.priors.marketplace.host_failure_per_hour = fixed(0.016)
    flat.priors.marketplace.outbid_per_hour = fixed(0.08)
    only_run(flat, 8 * 500.0, 8)
    flat.strategies = {"bid": strategy(("marketplace", 512, {"interruptible": True}))}
    out, _, grid = run_config(flat, 3000)
    hours = out["run_finish_day"][:, 0, 0] * 24.0
    job_hazard = 0.096 * 1
    exact = daly_expected_hours(500.0, 1.0, 0.05, 0.25, job_hazard)
    x = job_hazard * (1.05 / 2 + 0.25)
    tolerance = exact * (x**2 + grid.dt_days * 24.0 / exact) + 4 * hours.std(ddof=1) / np.sqrt(hours.size)
    assert abs(hours.mean() - exact) < tolerance, (hours.mean(), exact, tolerance)


def test_notebook_fee_units_and_light_routing(flat):
    at_reference_speed(flat).strategies = {"notebook": strategy(("notebook", 4, {"serves": ["light"]}), ("on_demand", 1024))}
    out, _, grid = run_config(flat, 2)
    month_wall = 48.0 * WALL * YEAR / 12  # light work, all on the 4 seats (96 GPU-h/day)
    overage_units = month_wall * 10.0 - 4 * 500.0  # 10 units per GPU-hour, 500 included per seat
    by_hand = 12 * (4 * 49.99 + overage_units * 0.0999)
    np.testing.assert_allclose(cash(out, 0, "notebook"), by_hand, rtol=1e-5)
    np.testing.assert_allclose(cash(out, 0, "on_demand"), 192.0 * WALL * YEAR * 5.4, rtol=1e-5)


def test_notebook_hosts_one_gpu_runs_only(flat):
    flat.strategies = {"notebook": strategy(("notebook", 4, {"serves": ["light", "runs"]}), ("on_demand", 1024))}
    only_run(flat, 100.0, 1)
    out, _, _ = run_config(flat, 2)
    # one GPU (an a100: throughput f), 24-h sessions with a 0.25-h restart each
    np.testing.assert_allclose(out["run_finish_day"][:, 0, 0],
                               100.0 * WALL / 24 * 24.25 / 24 / flat.gpus["a100"].throughput, rtol=1e-5)
    assert np.all(cash(out, 0, "on_demand") == 0.0)
    only_run(flat, 200.0, 2)  # two GPUs wide: never on a notebook
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(cash(out, 0, "on_demand"), 200.0 * WALL * 5.4, rtol=1e-5)


def test_bootstrap_routes_work_by_kind(flat):
    at_reference_speed(flat).strategies = {"bootstrap": strategy(("notebook", 4, {"serves": ["light"]}),
                                             ("marketplace", 256, {"serves": ["heavy", "runs"]}),
                                             ("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    heavy_wall = 192.0 * WALL * YEAR
    np.testing.assert_allclose(cash(out, 0, "marketplace"), heavy_wall * 0.35 * 5.4, rtol=1e-5)
    assert np.all(cash(out, 0, "on_demand") == 0.0)
    # the dataset lives in the cloud (data.home): the notebook and the marketplace each hold a copy, each paying
    # the cloud's $90/TB egress on the dataset as it is at the horizon (50 TB grown 1.5x)
    np.testing.assert_allclose(cash(out, 0, "data"), 2 * 90.0 * 50.0 * 1.5, rtol=1e-5)


def fleet_by_loop(grid, demand, initial, step, threshold, months_required, budget, price=30_000.0):
    """Independent plain-Python fluid model of the owned fleet with expansions (no failures, no lead time)."""
    installed, pending, committed, count, backlog = 0.0, float(min(initial, budget // price)), 0.0, 0, 0.0
    committed = pending * price
    hours = 24 * grid.dt_days
    for _month in range(grid.months):
        busy = up = 0.0
        for _ in range(grid.steps_per_month):
            installed, pending = installed + pending, 0.0
            backlog += demand * grid.dt_days
            served = min(backlog, installed * hours / WALL)
            backlog -= served
            busy, up = busy + served * WALL, up + installed * hours
        count = count + 1 if busy / up > threshold else 0
        if count >= months_required and pending == 0:
            count = 0
            pending = float(min(step, (budget - committed) // price))
            committed += pending * price
    return installed, committed


@pytest.mark.parametrize("budget", [None, 480_000.0])
def test_owned_expansion_and_capex_budget(flat, budget):
    flat.priors.workload.base_gpu_hours_per_day = fixed(384.0)
    expansion = ExpansionConfig(gpus=8, utilisation_threshold=0.85, months_above=2)
    flat.strategies = {"grow": strategy(("owned", 8), capex_budget_usd=budget, expansion=expansion)}
    out, _, grid = run_config(flat, 2)
    installed, committed = fleet_by_loop(grid, 384.0, 8, 8, 0.85, 2, np.inf if budget is None else budget)
    assert installed > 8
    np.testing.assert_allclose(out["owned_gpus_installed"][:, 0], installed)
    delivered_capex = cash(out, 0, "capex")
    assert np.all(delivered_capex <= committed + 1e-6)
    if budget is not None:
        assert installed == 16 and np.all(delivered_capex <= budget)


def test_deadline_aware_fallback_switches_just_in_time(flat):
    """Spot that never progresses: the run stays on spot while slack >= dt, then finishes on on-demand in time."""
    flat.priors.spot.reclaim_per_instance_hour = fixed(100.0)
    only_run(flat, 8 * 240.0, 8, start=0.0, deadline=40.0)
    flat.strategies = {"aware": strategy(("spot", 4096), ("on_demand", 4096)),
                       "naive": strategy(("spot", 4096), ("on_demand", 4096), deadline_aware=False)}
    out, params, grid = run_config(flat, 2)
    loss = 0.5 * (1.0 + 0.05) + float(params["workload.restart_hours"][0])  # hours lost by the move
    needed_days = (240.0 * WALL + loss) / 24  # 10.5 days on reliable GPUs, plus the move loss
    k_switch = int(np.floor((40.0 - needed_days - grid.dt_days) / grid.dt_days)) + 1
    t_switch = k_switch * grid.dt_days
    np.testing.assert_allclose(out["run_finish_day"][:, 0, 0], t_switch + needed_days, rtol=1e-5)
    assert np.all(out["run_lateness_days"][:, 0, 0] == 0.0)
    np.testing.assert_allclose(cash(out, 0, "spot"), 8 * 24 * grid.dt_days * k_switch * 5.4 * 0.4, rtol=1e-5)
    np.testing.assert_allclose(cash(out, 0, "on_demand"), 8 * (240.0 * WALL + loss) * 5.4, rtol=1e-5)
    assert not out["run_completed"][:, 1, 0].any()  # without the policy it never finishes


def test_sensitive_data_policies(flat):
    flat.strategies = {"hybrid": strategy(("owned", 8), ("on_demand", 1024)), "cloud": strategy(("on_demand", 1024))}
    flat.data.sensitive = True
    out, _, _ = run_config(flat, 2)  # policy exclude: the cloud is closed
    assert np.all(cash(out, 0, "on_demand") == 0.0) and np.all(cash(out, 1, "on_demand") == 0.0)
    assert np.all(out["delay"][:, 1] > 100)  # nothing serves the all-cloud strategy
    flat.data.policy = "compliance"
    flat.data.compliance_usd_per_year = 50_000.0
    out, _, _ = run_config(flat, 2)
    spend = 240.0 * WALL * YEAR * 5.4
    np.testing.assert_allclose(cash(out, 1, "on_demand"), spend, rtol=1e-5)
    np.testing.assert_allclose(cash(out, 1, "compliance"), 0.25 * spend + 50_000.0, rtol=1e-5)


def test_migration_and_egress(flat):
    """A run moves once from the cloud to the academic centre when it opens; the on-prem copy of the dataset pays the
    cloud's egress once, on the dataset as it is at the horizon (50 TB grown 1.5x)."""
    a = flat.priors.academic
    a.partnership_probability, a.admin_lead_days, a.opportunistic_gpus = fixed(1.0), fixed(20.0), fixed(100.0)
    a.queue_wait_days = fixed(0.0)
    only_run(flat, 8 * 1000.0, 8)
    flat.strategies = {"move": strategy(("academic", 1024), ("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(cash(out, 0, "migration"), 2000.0 + 0.5 * 90.0, rtol=1e-5)
    flat.priors.workload.base_gpu_hours_per_day = fixed(240.0)
    flat.runs = {}
    flat.strategies = {"hybrid": strategy(("owned", 8), ("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(cash(out, 0, "data"), 90.0 * 50.0 * 1.5, rtol=1e-4)


SCENARIOS = [pytest.param(name, marks=() if name in ("hybrid", "all", "academic") else pytest.mark.slow)
             for name in sorted(p.stem for p in (Path(__file__).parents[2] / "scenarios").glob("*.yaml"))]
# hybrid, all (every strategy) and academic run by default; the others, variations of the same strategies, are slow


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_runs_with_finite_plausible_results(scenario):
    cfg = load_config([f"scenario={scenario}"])
    out, params, _ = run_config(cfg, 64)
    for name, values in {**out, **params}.items():
        assert np.all(np.isfinite(values)), name
    # spend: academic-only costs 0 without a partner; the shortfall of a strategy that cannot serve the demand (an
    # academic-only one without a partner) can be far larger, so only the spend is bounded
    assert np.all(out["spend"] >= -1e-6 * np.abs(out["cost"])) and np.all(out["spend"] < 1e9)
    assert np.all(out["shortfall"] >= 0) and np.all(out["cost"] >= 0)
