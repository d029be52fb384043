"""Spot interruptions with checkpoint/restart against Daly's exponential model, and spot availability.

Model tolerance: the engine's rate model gives ``E[T] = W (1 + C/tau) / (1 - x)`` with
``x = lambda n ((tau + C)/2 + R)``, Daly's exact exponential model ``E[T] = (W/tau) e^{lambda n R}
(e^{lambda n (tau + C)} - 1) / (lambda n)``. Both agree to first order; the second-order gap is below ``x^2`` (for
x < 0.2), and the renewal overshoot of the last daily step adds at most ``dt / T``. The test allows
``x^2 + dt/T`` plus four Monte Carlo standard errors.
"""

import numpy as np
import pytest
from conftest import daly_expected_hours, fixed, pinned, run_config, strategy

from simulator.config.schema import RunConfig


@pytest.fixture
def spot_run(hybrid):
    cfg = pinned(hybrid)
    cfg.engine.horizon_months = 6
    cfg.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    cfg.priors.workload.checkpoint_cost_hours = fixed(0.05)
    cfg.priors.workload.restart_hours = fixed(0.25)
    cfg.priors.spot.gpus_per_instance = fixed(8)
    return cfg


@pytest.mark.parametrize("hazard", [0.0125, 0.004])
def test_completion_time_matches_daly(spot_run, hazard):
    width, per_gpu_hours, tau = 64, 1000.0, 1.0
    spot_run.runs = {
        "train": RunConfig(
            gpu_hours=fixed(width * per_gpu_hours), gpus=width, start_day=10.0, deadline_day=100.0
        )
    }
    spot_run.strategies = {"spot": strategy(("spot", 4096), interval=tau)}
    spot_run.priors.spot.reclaim_per_instance_hour = fixed(hazard)
    out, _, grid = run_config(spot_run, 3000)
    hours = (out["run_finish_day"][:, 0, 0] - 10.0) * 24.0
    assert out["run_completed"].all()
    job_hazard = hazard * width / 8
    exact = daly_expected_hours(per_gpu_hours, tau, 0.05, 0.25, job_hazard)
    x = job_hazard * ((tau + 0.05) / 2 + 0.25)
    se = hours.std(ddof=1) / np.sqrt(hours.size)
    tolerance = exact * (x**2 + grid.dt_days * 24.0 / exact) + 4 * se
    assert abs(hours.mean() - exact) < tolerance, (hours.mean(), exact, tolerance)
    # and the interruption count is Poisson at the job hazard over the running time
    counts = out["spot_interruptions"][:, 0]
    assert counts.mean() == pytest.approx(job_hazard * hours.mean(), rel=0.05)


def test_no_hazard_no_loss(spot_run):
    """Without reclaims only the checkpoint overhead remains: T = W (1 + C / tau) exactly (to the step)."""
    spot_run.runs = {
        "train": RunConfig(gpu_hours=fixed(64 * 500.0), gpus=64, start_day=0.0, deadline_day=100.0)
    }
    spot_run.strategies = {"spot": strategy(("spot", 4096), interval=2.0)}
    out, _, _ = run_config(spot_run, 8)
    hours = out["run_finish_day"][:, 0, 0] * 24.0
    np.testing.assert_allclose(hours, 500.0 * (1 + 0.05 / 2.0), rtol=1e-5)


def test_unavailable_fraction_and_fallback(spot_run):
    """Spot is unavailable a fraction f of days (stationary chain); that work falls back to on-demand."""
    f = 0.3
    spot_run.runs = {}
    spot_run.priors.workload.base_gpu_hours_per_day = fixed(240.0)
    spot_run.priors.spot.unavailable_fraction = fixed(f)
    spot_run.priors.spot.unavailable_spell_days = fixed(3.0)
    spot_run.strategies = {"spot": strategy(("spot", 4096), ("on_demand", 4096))}
    out, _, _ = run_config(spot_run, 2000)
    cash = out["cash_by_category"][:, 0]
    od_hours = cash[:, 0] / 5.4
    spot_hours = cash[:, 1] / (5.4 * (1 - 0.6))
    share = od_hours / (od_hours + spot_hours)
    z = (share.mean() - f) / (share.std(ddof=1) / np.sqrt(share.size))
    assert abs(z) < 4, (share.mean(), z)
    assert out["delay"].max() < 1e-6  # the fallback absorbs everything


def test_lost_work_is_redone_on_spot_and_paid_once(spot_run):
    """Spot with room: lost work is redone on spot in the step; on-demand takes nothing, and spot is paid the wall
    the work needed with its loss, ``D / (eff (1 - lambda loss))`` in expectation (``loss = (tau + C)/2 + R``)."""
    hazard, days = 0.05, 6 * 365.25 / 12
    spot_run.runs = {}
    spot_run.priors.workload.base_gpu_hours_per_day = fixed(240.0)
    spot_run.priors.workload.growth_multiplier_per_year = fixed(1.0)
    spot_run.priors.spot.reclaim_per_instance_hour = fixed(hazard)
    spot_run.strategies = {"spot": strategy(("spot", 4096), ("on_demand", 4096))}
    out, _, _ = run_config(spot_run, 200)
    cash = out["cash_by_category"][:, 0]
    assert np.all(cash[:, 0] == 0.0)  # on-demand
    spot_hours = cash[:, 1] / (5.4 * (1 - 0.6))
    loss_fraction = hazard * ((1.0 + 0.05) / 2 + 0.25)
    expected = (240.0 * days - out["final_backlog"][:, 0]) * 1.05 / (1.0 - loss_fraction)
    np.testing.assert_allclose(spot_hours.mean(), expected.mean(), rtol=2e-3)
    assert out["delay"][:, 0].mean() < 0.05  # work lost beyond the expected loss waits one step at most, mostly
