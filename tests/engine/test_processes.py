"""Each risk driver against its closed form, at the engine's own time step, with tolerances from the MC error.

A z-score ``(estimate - exact) / SE`` must satisfy ``|z| < 4`` at a fixed seed; the SE of a sample variance is
``sqrt((m4 - s^4) / n)`` with ``m4`` the fourth central moment.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import fixed, pinned, run_config, strategy
from scipy import stats

from simulator.engine import DAYS_PER_MONTH, DAYS_PER_YEAR
from simulator.engine.processes import poisson_from_uniform

PATHS = 4000


def z_mean(x: np.ndarray, exact: float) -> float:
    return (x.mean() - exact) / (x.std(ddof=1) / np.sqrt(x.size))


def z_var(x: np.ndarray, exact: float) -> float:
    centred = x - x.mean()
    m4, s2 = np.mean(centred**4), np.var(x, ddof=1)
    return (s2 - exact) / np.sqrt((m4 - s2**2) / x.size)


@pytest.fixture
def driver_config(hybrid):
    cfg = pinned(hybrid)
    cfg.engine.horizon_months = 12
    cfg.runs = {}
    cfg.strategies = {"cloud": strategy(("on_demand", 4096)), "owned": strategy(("owned", 64))}
    return cfg


def test_price_index_is_gbm(driver_config):
    """E[M_t] = exp(mu t), Var[M_t] = exp(2 mu t)(exp(sigma^2 t) - 1) at t = 6 and 12 months."""
    mu, sigma = -0.2, 0.35
    driver_config.priors.market.drift_per_year = fixed(mu)
    driver_config.priors.market.volatility_per_year = fixed(sigma)
    out, _, _ = run_config(driver_config, PATHS)
    for month in (6, 12):
        t = month * DAYS_PER_MONTH / DAYS_PER_YEAR
        x = out["price_index"][:, month - 1]
        assert abs(z_mean(x, np.exp(mu * t))) < 4
        assert abs(z_var(x, np.exp(2 * mu * t) * np.expm1(sigma**2 * t))) < 4


def test_demand_growth_closed_form(driver_config):
    """E[D_t] = D0 g^t and Var[D_t] = D0^2 g^{2t}(exp(sigma^2 t) - 1) for the log random walk."""
    d0, growth, sigma = 300.0, 2.5, 0.4
    driver_config.priors.workload.base_gpu_hours_per_day = fixed(d0)
    driver_config.priors.workload.growth_multiplier_per_year = fixed(growth)
    driver_config.priors.workload.volatility_per_year = fixed(sigma)
    out, _, _ = run_config(driver_config, PATHS)
    t = 12 * DAYS_PER_MONTH / DAYS_PER_YEAR
    x = out["demand_rate"][:, -1]
    assert abs(z_mean(x, d0 * growth**t)) < 4
    assert abs(z_var(x, d0**2 * growth ** (2 * t) * np.expm1(sigma**2 * t))) < 4


def test_failures_are_poisson_series_system(driver_config):
    """With instant repair, failures of N GPUs over T hours are Poisson(N lambda T) (series system), up to the step.

    In the engine a GPU that fails is out for the rest of its step and comes back at the next one, so each failure
    removes one step of exposure: per GPU and step, p = lambda 24 dt, and the expected count is
    ``N lambda T / (1 + p)`` (0.5% below N lambda T here); the variance equals the mean to the same order.
    """
    hazard, gpus = 2e-4, 64
    driver_config.priors.owned.failure_per_gpu_hour = fixed(hazard)
    driver_config.priors.owned.repair_days = fixed(1e-6)
    out, _, grid = run_config(driver_config, PATHS)
    counts = out["owned_failures"][:, 1]
    p = hazard * 24.0 * grid.dt_days
    expected = gpus * hazard * 24.0 * grid.horizon_days / (1.0 + p)
    assert abs(z_mean(counts, expected)) < 4
    assert abs(z_var(counts, expected)) < 4  # Poisson: variance = mean
    assert np.all(out["owned_failures"][:, 0] == 0)  # no owned GPUs, no failures


def test_failures_reduce_capacity_with_slow_repair(driver_config):
    """Steady state of the repair queue: mean GPUs down ~ N lambda T_r (Little's law, light load)."""
    hazard, repair_days, gpus = 1e-3, 5.0, 64
    driver_config.priors.owned.failure_per_gpu_hour = fixed(hazard)
    driver_config.priors.owned.repair_days = fixed(repair_days)
    out, _, _ = run_config(driver_config, 1000)
    down = gpus - out["owned_gpus_up"][:, 1, 3:]  # after a burn-in of 3 months
    rate = hazard * 24.0  # per GPU per day
    # M/M/inf-like with finite source: mean down = N r T / (1 + r T)
    expected = gpus * rate * repair_days / (1 + rate * repair_days)
    per_path = down.mean(axis=1)
    assert abs(z_mean(per_path, expected)) < 4


@pytest.mark.parametrize("rate", [0.01, 0.5, 3.0, 11.0, 40.0, 400.0])
def test_poisson_sampler(rate):
    """Inverse-CDF sampler (exact below 12) and normal approximation (above) against Poisson moments."""
    u = (np.arange(200_000) + 0.5) / 200_000  # stratified uniforms: the sample CDF is the sampler's CDF
    counts = np.asarray(poisson_from_uniform(jnp.asarray(u, jnp.float32), jnp.float32(rate)), float)
    assert counts.mean() == pytest.approx(rate, rel=2e-3, abs=2e-4)
    assert counts.var() == pytest.approx(rate, rel=2e-2 if rate > 12 else 5e-3, abs=5e-4)
    if rate <= 12:
        for k in range(int(rate) + 3):
            assert np.mean(counts <= k) == pytest.approx(stats.poisson.cdf(k, rate), abs=2e-5)


def test_expansion_threshold_compares_clipped_utilisation():
    """Utilisation above 1 is rounding: clipped to 1, it never passes a threshold of 1.0 (the comparison is ``>``)."""
    from simulator.engine.processes.fleet import expansion_due

    utilisation = jnp.asarray([1.0 + 1.2e-7, 1.0, 0.95, 0.95], jnp.float32)
    threshold = jnp.asarray([1.0, 1.0, 0.95, 0.9], jnp.float32)
    _, order = expansion_due(utilisation, jnp.zeros(4), threshold, jnp.ones(4), jnp.zeros(4), jnp.full(4, 16.0))
    np.testing.assert_array_equal(np.asarray(order), [False, False, False, True])
