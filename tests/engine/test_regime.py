"""The market regime (normal / shortage): the chain against its closed forms, and its effects, exact at fixed priors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import fixed, run_config, strategy

from simulator.engine import DAYS_PER_MONTH
from simulator.engine.processes import regime
from simulator.engine.strategies import COST_CATEGORIES

CAT = {name: i for i, name in enumerate(COST_CATEGORIES)}


def _chain(q: float, spell_months: float, dt: float, paths: int, steps: int, seed: int = 0) -> np.ndarray:
    """(steps, paths) shortage states of the chain from its stationary start (the engine's functions)."""
    p_enter, p_exit = regime.transition_probabilities(jnp.float32(q), jnp.float32(spell_months), dt)
    k0, k1 = jax.random.split(jax.random.PRNGKey(seed))
    start = regime.initial_shortage(jax.random.uniform(k0, (paths,)), q)

    def step(state, u):
        return regime.shortage_step(state, u, p_enter, p_exit), state

    _, states = jax.lax.scan(step, start, jax.random.uniform(k1, (steps, paths)))
    return np.asarray(states)


def test_chain_stationary_fraction_and_spell_length():
    """Started from the stationary distribution, the shortage fraction is ``q`` at every step; the first spell
    entered after t=0 lasts ``dt / p_exit`` days on average (= L D + dt/2 to first order), one spell per path."""
    q, spell, dt, paths = 0.3, 2.0, 7.0, 20000
    states = _chain(q, spell, dt, paths, steps=400)
    at = states[[0, 57, 399]].astype(float)  # three steps, each over independent paths
    z = (at.mean(axis=1) - q) / np.sqrt(q * (1 - q) / paths)
    assert np.all(np.abs(z) < 4), z
    entered = (~states[:-1]) & states[1:]  # normal -> shortage
    first = np.argmax(entered, axis=0) + 1
    has = entered.any(axis=0)
    lengths = np.array([np.argmax(~states[f:, i]) for i, f in zip(np.flatnonzero(has), first[has], strict=True)])
    ended = np.array([(~states[f:, i]).any() for i, f in zip(np.flatnonzero(has), first[has], strict=True)])
    assert ended.mean() > 0.999  # spells are short against the 400 steps: no censoring to speak of
    days = lengths[ended] * dt
    _, p_exit = regime.transition_probabilities(jnp.float32(q), jnp.float32(spell), dt)
    expected = dt / float(p_exit)
    assert abs(expected - (spell * DAYS_PER_MONTH + dt / 2)) / expected < 0.01
    z = (days.mean() - expected) / (days.std(ddof=1) / np.sqrt(days.size))
    assert abs(z) < 4, (days.mean(), expected, z)


@pytest.fixture
def market(flat):
    """Flat demand on pinned priors, one strategy per rented kind, spot always available in both regimes."""
    flat.strategies = {"od": strategy(("on_demand", 4096)), "spot": strategy(("spot", 4096)),
                       "mp": strategy(("marketplace", 4096))}
    flat.priors.regime.spot_unavailable_fraction = fixed(0.0)
    flat.priors.regime.shortage_spell_months = fixed(2.0)
    return flat


def test_shortage_months_match_the_stationary_fraction(market):
    q = 0.3
    market.priors.regime.shortage_fraction = fixed(q)
    out, _, _ = run_config(market, 1000)
    frac = out["shortage_months"] / market.engine.horizon_months
    assert frac.shape == (1000,)
    z = (frac.mean() - q) / (frac.std(ddof=1) / np.sqrt(frac.size))
    assert abs(z) < 4, (frac.mean(), z)


def test_rental_prices_scale_by_the_multiplier_in_shortage_steps(market):
    """Per path, each rented kind's spend is the normal spend times ``1 + (m - 1) months_short / horizon``: every
    step uses the same GPU-hours, priced ``m`` times higher in a shortage (exact at fixed priors)."""
    m = 1.8
    market.priors.regime.rental_price_multiplier = fixed(m)
    base, _, _ = run_config(market, 64)
    market.priors.regime.shortage_fraction = fixed(0.5)
    out, _, _ = run_config(market, 64)
    short = out["shortage_months"]
    assert short.max() > 0 and short.min() < market.engine.horizon_months  # both regimes happened
    assert np.all(base["shortage_months"] == 0.0)
    factor = 1.0 + (m - 1.0) * short / market.engine.horizon_months
    for s, kind in enumerate(("on_demand", "spot", "marketplace")):
        spent, normal = out["cash_by_category"][:, s, CAT[kind]], base["cash_by_category"][:, s, CAT[kind]]
        assert normal.min() > 0
        np.testing.assert_allclose(spent, normal * factor, rtol=2e-5)


def test_orders_in_a_shortage_cost_more_and_arrive_later(flat):
    """Always in a shortage (q = 1): the t=0 order is quoted ``m_hw`` times higher and arrives after ``m_lead``
    times the lead time (4 weeks -> 12 weeks: up at the end of month 3, not month 1)."""
    flat.strategies = {"owned": strategy(("owned", 64))}
    flat.priors.owned.lead_time_weeks = fixed(4.0)
    flat.priors.regime.hardware_price_multiplier = fixed(1.4)
    flat.priors.regime.lead_time_multiplier = fixed(3.0)
    base, _, _ = run_config(flat, 8)
    flat.priors.regime.shortage_fraction = fixed(1.0)
    out, _, _ = run_config(flat, 8)
    assert np.all(out["shortage_months"] == pytest.approx(flat.engine.horizon_months, rel=1e-5))
    capex = CAT["capex"]
    np.testing.assert_allclose(out["cash_by_category"][:, 0, capex], 1.4 * base["cash_by_category"][:, 0, capex],
                               rtol=1e-6)
    first_up = lambda o: np.argmax(o["owned_gpus_up"][:, 0] > 0, axis=-1)  # noqa: E731  month index, 0-based
    assert np.all(first_up(base) == 0) and np.all(first_up(out) == 2)


def test_no_shortage_is_the_model_without_a_regime(hybrid):
    """With the shortage fraction at 0 (any multipliers) the outputs equal, bit for bit, those of a run in which a
    shortage changes nothing (multipliers 1, same spot unavailability): the regime is off, not approximately off."""
    hybrid.engine.horizon_months = 6
    # owned, spot, on-demand (hybrid) and a reserved commitment: every price, order and chain the regime touches
    hybrid.strategies = {name: hybrid.strategies[name] for name in ("hybrid", "reserved_1y")}
    hybrid.priors.spot.unavailable_fraction = fixed(0.15)
    hybrid.priors.regime.shortage_fraction = fixed(0.0)
    a, _, _ = run_config(hybrid, 32)
    for name in ("rental_price_multiplier", "hardware_price_multiplier", "lead_time_multiplier"):
        setattr(hybrid.priors.regime, name, fixed(1.0))
    hybrid.priors.regime.spot_unavailable_fraction = fixed(0.15)
    hybrid.priors.regime.shortage_fraction = fixed(0.5)
    b, _, _ = run_config(hybrid, 32)
    assert b["shortage_months"].max() > 0
    for key in ("cost", "cost_by_category", "run_finish_day", "interruptions_by_kind", "owned_gpus_installed"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
