"""Job interrupts vs hardware-down failures, spares, the move loss, fair job widths, the academic first cycle.

Each test compares the engine with a closed form or an independent plain loop: exact (to float32) with every prior
fixed, or a z-test (|z| < 4) at a fixed seed where a count is random.
"""

import numpy as np
import pytest
from conftest import fixed, run_config, strategy

from simulator.config.schema import RunConfig
from simulator.engine.kinds import code
from simulator.engine.strategies import CATEGORY_INDEX

YEAR = 365.25
TAU, C = 1.0, 0.05  # checkpoint interval (strategy default in conftest.strategy) and cost (flat: 5% overhead)


def cash(out, s, name):
    return out["cash_by_category"][:, s, CATEGORY_INDEX[name]]


def loss_hours(params) -> float:
    return 0.5 * (TAU + float(params["workload.checkpoint_cost_hours"][0])) + float(params["workload.restart_hours"][0])


def z_mean_zero(x: np.ndarray) -> float:
    return float(x.mean() / (x.std(ddof=1) / np.sqrt(x.size)))


def test_steady_load_loses_the_job_interrupt_fraction(flat):
    """On-demand spend / served work = price / (eff (1 - lambda_j loss)): the stationary loss of job interrupts."""
    job = 0.01
    flat.priors.workload.job_interrupt_per_gpu_hour = fixed(job)
    flat.strategies = {"cloud": strategy(("on_demand", 4096))}
    out, params, _ = run_config(flat, 2)
    loss, eff = loss_hours(params), TAU / (TAU + C)
    served = 240.0 * YEAR - out["final_backlog"][:, 0]
    np.testing.assert_allclose(cash(out, 0, "on_demand") / served, 5.4 / (eff * (1.0 - job * loss)), rtol=1e-5)
    wall = cash(out, 0, "on_demand") / 5.4  # the expected count of job interrupts, booked to on_demand
    by_kind = out["interruptions_by_kind"][:, 0]
    np.testing.assert_allclose(by_kind[:, code("on_demand")], job * wall, rtol=1e-5)
    assert np.all(np.delete(by_kind, code("on_demand"), axis=1) == 0.0)


def test_run_job_interrupts_are_poisson_on_every_kind(flat):
    """A run on on-demand sees Poisson(lambda_j w h) interrupts per step (Wald: E[N] = lambda_j w h E[steps])."""
    job, width = 2e-3, 8
    flat.priors.workload.job_interrupt_per_gpu_hour = fixed(job)
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.runs = {"run": RunConfig(gpu_hours=fixed(width * 500.0), gpus=width, start_day=0.0, deadline_day=300.0)}
    flat.strategies = {"cloud": strategy(("on_demand", 4096))}
    out, params, grid = run_config(flat, 2000)
    finish = out["run_finish_day"][:, 0, 0]
    assert out["run_completed"].all()
    steps = np.ceil(finish / grid.dt_days - 1e-4)
    counts = out["interruptions_by_kind"][:, 0, code("on_demand")]
    assert abs(z_mean_zero(counts - job * width * 24.0 * grid.dt_days * steps)) < 4
    # each event costs loss hours on all GPUs: the wall time is the useful time plus N loss, less what the events of
    # the last step would have cost beyond the finish (a step's events are drawn on the whole step)
    useful_hours = 500.0 * (TAU + C) / TAU
    late = finish * 24.0 - useful_hours - counts * loss_hours(params)
    assert np.all(late < 1e-3 * useful_hours) and np.median(np.abs(late)) < 1e-3 * useful_hours


def test_stationary_fraction_of_hardware_down_gpus(flat):
    """Up/down alternating renewal: lambda_hw 24 T_r / (1 + lambda_hw 24 T_r) of the fleet is down (month ends)."""
    hazard, repair, gpus = 2e-4, 3.0, 1000
    flat.priors.owned.failure_per_gpu_hour = fixed(hazard)
    flat.priors.owned.repair_days = fixed(repair)
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.strategies = {"owned": strategy(("owned", gpus))}
    out, _, _ = run_config(flat, 400)
    down = 1.0 - out["owned_gpus_up"][:, 0, 1:] / gpus  # (path, month) after the first month (start-up transient)
    expected = hazard * 24 * repair / (1.0 + hazard * 24 * repair)
    per_path = down.mean(axis=1)
    assert abs(z_mean_zero(per_path - expected)) < 4, (per_path.mean(), expected)


def test_a_spare_covers_one_failure(flat):
    """8 GPUs + 1 spare offer 8 until 2 are down: a run 8 wide keeps running after one failure, stalls after two.

    Repairs never come (T_r huge), no other hazard: with F failures over the horizon, the run (never finishing)
    loses only the failures that hit its GPUs, (8/9) x 8 x loss GPU-hours for the first one, if F <= 1.
    """
    flat.engine.horizon_months = 6
    flat.priors.owned.failure_per_gpu_hour = fixed(2.5e-5)
    flat.priors.owned.repair_days = fixed(1e9)
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.runs = {"run": RunConfig(gpu_hours=fixed(1e5), gpus=8, start_day=0.0, deadline_day=300.0)}
    flat.strategies = {"spare": strategy(("owned", 8, {"spares": 1})), "none": strategy(("owned", 8))}
    out, params, grid = run_config(flat, 300)
    horizon, eff, loss = grid.horizon_days, TAU / (TAU + C), loss_hours(params)
    np.testing.assert_allclose(cash(out, 0, "capex") / cash(out, 1, "capex"), 9 / 8, rtol=1e-6)  # spares are bought
    failures = out["owned_failures"]
    assert (failures[:, 0] == 1).sum() > 30 and (failures[:, 0] >= 2).sum() > 5

    def finish(lost_events):
        done = (8 * 24 * horizon - lost_events * 8 * loss) * eff
        return horizon + (1e5 - done) / (8 * 24 * eff)

    one, none_failed = failures[:, 0] == 1, failures[:, 0] == 0
    np.testing.assert_allclose(out["run_finish_day"][one, 0, 0], finish(8 / 9), rtol=1e-5)
    np.testing.assert_allclose(out["run_finish_day"][none_failed, 0, 0], finish(0.0), rtol=1e-5)
    assert np.all(out["run_finish_day"][failures[:, 0] >= 2, 0, 0] > finish(8 / 9) + 1e-3)  # stalled after two
    assert np.all(out["run_finish_day"][failures[:, 1] >= 1, 1, 0] > finish(0.0) + 1e-3)  # no spare: stalled


def test_each_forced_move_loses_w_loss_and_leaving_spot_is_an_interruption(flat):
    """Spot available every other step (f = 1/2, spells of ~0 days: p_lose = p_regain = 1): a run on
    [spot, on_demand] changes slot every step; each move loses exactly w loss GPU-hours more than the same run on
    on-demand alone, and each step in which spot is gone under it counts one spot interruption.

    One month (K = 30 steps); the run starts half-way through step 1, so it is active in A = 29 steps, moves
    A - 1 = 28 times and leaves spot (A - 1) / 2 = 14 times whichever step spot comes first. It never finishes:
    its extrapolated finish is ``T + remaining / (24 w eff)``, so the finish days differ by 28 loss / 24.
    """
    width = 8
    flat.engine.horizon_months = 1
    flat.priors.spot.unavailable_fraction = fixed(0.5)
    flat.priors.spot.unavailable_spell_days = fixed(1e-6)
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.strategies = {"moving": strategy(("spot", 4096), ("on_demand", 4096)),
                       "still": strategy(("on_demand", 4096))}
    out, params, grid = run_config(flat, 2)  # dt is fixed by the grid: start the run half-way through step 1
    flat.runs = {"run": RunConfig(gpu_hours=fixed(1e5), gpus=width, start_day=1.5 * grid.dt_days, deadline_day=300.0)}
    out, params, grid = run_config(flat, 16)
    assert grid.steps_per_month == 30
    moves, loss = 28, loss_hours(params)
    gap_days = out["run_finish_day"][:, 0, 0] - out["run_finish_day"][:, 1, 0]
    np.testing.assert_allclose(gap_days, moves * loss / 24.0, atol=2e-3)  # float32 days (one move: 0.03)
    np.testing.assert_array_equal(out["spot_interruptions"][:, 0], 14.0)
    assert np.all(out["spot_interruptions"][:, 1] == 0.0)
    assert np.all(cash(out, 0, "migration") == 0.0)  # spot and on-demand: one provider


def test_marketplace_never_hosts_a_run_wider_than_a_host(flat):
    """max_job_gpus = 8 on marketplace: a 32-wide run goes to on-demand, an 8-wide one to the marketplace."""
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.runs = {"wide": RunConfig(gpu_hours=fixed(32 * 100.0), gpus=32, start_day=0.0, deadline_day=300.0)}
    flat.strategies = {"mp": strategy(("marketplace", 4096), ("on_demand", 4096))}
    out, _, _ = run_config(flat, 4)
    assert np.all(cash(out, 0, "marketplace") == 0.0) and np.all(cash(out, 0, "on_demand") > 0.0)
    flat.runs = {"narrow": RunConfig(gpu_hours=fixed(8 * 100.0), gpus=8, start_day=0.0, deadline_day=300.0)}
    out, _, _ = run_config(flat, 4)
    assert np.all(cash(out, 0, "marketplace") > 0.0) and np.all(cash(out, 0, "on_demand") == 0.0)


@pytest.mark.parametrize("admin_lead", [20.0, 200.0])
def test_academic_first_cycle_when_the_application_is_in(flat, admin_lead):
    """Applied: an accepted first cycle starts at max(first_allocation_day, admin lead); not applied: the first
    allocation is the next cycle's (day 125 + 365.25)."""
    a = flat.priors.academic
    a.partnership_probability, a.admin_lead_days, a.opportunistic_gpus = fixed(1.0), fixed(admin_lead), fixed(0.0)
    a.first_allocation_day, a.application_lead_days = fixed(125.0), fixed(150.0)
    a.acceptance_probability, a.allocation_gpus, a.usable_fraction = fixed(0.5), fixed(8.0), fixed(1.0)
    a.queue_wait_days, a.walltime_hours = fixed(0.0), fixed(1e9)
    flat.engine.horizon_months = 20
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.runs = {"run": RunConfig(gpu_hours=fixed(8 * 24.0), gpus=8, start_day=0.0, deadline_day=600.0)}
    flat.strategies = {"academic": strategy(("academic", 64))}
    start = max(125.0, admin_lead)
    run_days = 24.0 * (TAU + C) / TAU / 24.0 / flat.gpus["a100"].throughput  # on the centre's a100s
    for applied in (1.0, 0.0):
        a.first_cycle_applied = fixed(applied)
        out, _, grid = run_config(flat, 400)
        finish = out["run_finish_day"][:, 0, 0]
        first = np.ceil(start / grid.dt_days - 1e-6) * grid.dt_days  # the first step on or after the opening
        early = finish < 125.0 + YEAR
        if applied:
            np.testing.assert_allclose(finish[early], first + run_days, rtol=1e-5)
            share = early.mean()
            assert abs(share - 0.5) < 4 * np.sqrt(0.25 / early.size), share
        else:
            assert not early.any() and np.all(finish >= 125.0 + YEAR)
