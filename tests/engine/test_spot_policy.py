"""Slack-aware spot policies of deadline runs (Wu et al., "Can't Be Late", NSDI 2024) against the paper's closed form.

Set-up: all priors pinned, no steady work, one run of ``w = 8`` GPUs and ``C0 = 240`` hours a GPU (useful, checkpoint
cost 0), deadline ``R0 = 30`` days, a strategy of spot (price ``p``) then on-demand (``k p``, ``k = 1 / (1 - 0.6)``),
spot unavailable half the time in spells of 3 days, no reclaims. With changeover ``d = 0``, ``wait_while_slack``
pays ``k C0 - (k - 1) min(C0, A)`` in spot units (cost / (p w)), ``A`` the spot-available hours in ``[0, R0]``:
recomputed here from the engine's own stream keys (``spot/initially_available``, ``spot/availability``), step by
step, as :mod:`simulator.engine.state` and :mod:`simulator.engine.step` draw them.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import error_for, fixed, pinned, run_config, strategy

from simulator.config.load import load_config
from simulator.config.schema import RunConfig
from simulator.engine._keys import counter_uniforms, stream_keys
from simulator.engine.host import build_inputs, root_key
from simulator.engine.processes import spot
from simulator.engine.scan import simulate_chunk
from simulator.engine.strategies import CATEGORY_INDEX

WIDTH, C0, DEADLINE, UNAVAILABLE, SPELL = 8, 240.0, 30.0, 0.5, 3.0
K = 1.0 / (1.0 - 0.6)  # on-demand over spot (conftest.TEST_MARKET)
SPOT_UNIT = 5.4 * 0.4 * WIDTH  # spot $ per wall hour of the run
PATHS = 256
POOLS = (("spot", 4096), ("on_demand", 4096))
STRATEGIES = {  # name: (spot_policy, changeover_hours)
    "fallback": ("fallback", 0.0), "wait": ("wait_while_slack", 0.0), "uniform": ("uniform_progress", 0.0),
    "wait_d": ("wait_while_slack", None), "uniform_d": ("uniform_progress", None),
    "uniform_d4": ("uniform_progress", 4.0),
}


def deadline_config(unavailable=UNAVAILABLE):
    cfg = pinned(load_config(["scenario=hybrid"]))
    cfg.engine.horizon_months = 2
    cfg.engine.discount_rate_per_year = 0.0
    cfg.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    cfg.priors.workload.checkpoint_cost_hours = fixed(0.0)
    cfg.priors.spot.unavailable_fraction = fixed(unavailable)
    cfg.priors.spot.unavailable_spell_days = fixed(SPELL)
    cfg.runs = {"run": RunConfig(gpu_hours=fixed(WIDTH * C0), gpus=WIDTH, start_day=0.0, deadline_day=DEADLINE)}
    cfg.strategies = {name: strategy(*POOLS, spot_policy=policy, changeover_hours=d)
                      for name, (policy, d) in STRATEGIES.items()}
    return cfg


@pytest.fixture(scope="module")
def policies():
    """One run of every policy (one compile), and the spot-available hours ``A`` of each path before the deadline."""
    out, _, grid = run_config(deadline_config(), PATHS)
    return out, grid, spot_available_hours(PATHS, grid.dt_days)


def spot_available_hours(paths: int, dt: float, seed: int = 0) -> np.ndarray:
    """``A`` per path: the availability chain recomputed from the engine's keys (initial state ``u >= f``, then
    ``available' = u >= p_lose`` if available, else ``u < p_regain``), each step's state held over the step's part
    of ``[0, R0]``."""
    ids, root = jnp.arange(paths, dtype=jnp.uint32), root_key(seed)
    f = jnp.full((paths,), UNAVAILABLE, jnp.float32)
    available = counter_uniforms(stream_keys(root, "spot/initially_available", ids), 0, jnp.float32) >= f
    p_lose, p_regain = spot.transition_probabilities(f, jnp.full((paths,), SPELL, jnp.float32), dt)
    keys, hours = stream_keys(root, "spot/availability", ids), np.zeros(paths)
    for j in range(int(np.ceil(DEADLINE / dt))):
        hours += np.asarray(available) * 24.0 * (min((j + 1) * dt, DEADLINE) - j * dt)
        available = spot.availability_step(available, counter_uniforms(keys, j, jnp.float32), p_lose, p_regain)
    return hours


def spot_units(out, name):
    """The run's spot and on-demand spend in spot units (cost / (p w)), per path."""
    cash = out["cash_by_category"][:, list(STRATEGIES).index(name)]
    return (cash[:, CATEGORY_INDEX["spot"]] + cash[:, CATEGORY_INDEX["on_demand"]]) / SPOT_UNIT


def test_wait_while_slack_meets_the_d0_optimum(policies):
    """``k C0 - (k - 1) min(C0, A)`` on every path, to a step: the run can leave unused at most the spot of the step
    it finishes in (it finishes less than ``dt`` before the deadline once it used on-demand)."""
    out, grid, available = policies
    exact = K * C0 - (K - 1.0) * np.minimum(C0, available)
    cost = spot_units(out, "wait")
    step = (K - 1.0) * 24.0 * grid.dt_days
    assert np.all(cost >= exact - 1e-3 * C0) and np.all(cost <= exact + step), np.abs(cost - exact).max()
    assert np.mean(np.abs(cost - exact) < 1e-3 * C0) > 0.8  # most paths exactly
    assert 0.0 < np.mean(available < C0) < 1.0  # both branches of min(C0, A) are exercised
    assert np.all(out["run_lateness_days"][:, 1, 0] == 0.0) and out["run_completed"][:, 1, 0].all()


def test_fallback_costs_at_least_waiting(policies):
    """With ``d = 0``, greedy fallback uses on-demand whenever spot is away, waiting only where the slack allows."""
    out, _, _ = policies
    fallback, wait = spot_units(out, "fallback"), spot_units(out, "wait")
    assert np.all(fallback >= wait - 1e-4 * C0)
    assert np.mean(fallback > wait + 1.0) > 0.5


def test_uniform_progress_never_misses_the_deadline(policies):
    """On-demand always has room: ``uniform_progress`` (any changeover) and ``wait_while_slack`` finish in time,
    the uniform line costs no less than waiting to the last moment (d = 0), and less than fallback on average."""
    out, _, _ = policies
    for name in ("uniform", "uniform_d", "uniform_d4", "wait_d"):
        s = list(STRATEGIES).index(name)
        assert out["run_completed"][:, s, 0].all(), name
        assert np.all(out["run_lateness_days"][:, s, 0] == 0.0), name
    assert np.all(spot_units(out, "uniform") >= spot_units(out, "wait") - 1e-4 * C0)
    assert spot_units(out, "uniform").mean() < spot_units(out, "fallback").mean()


def test_uniform_progress_keeps_to_the_line_without_spot():
    """Spot never available: the run works only when it would end a step behind ``C0 t / R0``, so it finishes
    within a step of the deadline, all on on-demand; ``fallback`` finishes at full speed (``C0 / 24`` days)."""
    cfg = deadline_config(unavailable=1.0)
    cfg.strategies = {n: cfg.strategies[n] for n in ("fallback", "uniform")}
    out, _, grid = run_config(cfg, 4)
    finish = out["run_finish_day"][:, :, 0]
    np.testing.assert_allclose(finish[:, 0], C0 / 24.0, rtol=1e-5)
    assert np.all(finish[:, 1] <= DEADLINE) and np.all(finish[:, 1] > DEADLINE - 2 * grid.dt_days)
    np.testing.assert_allclose(out["cash_by_category"][:, 1, CATEGORY_INDEX["on_demand"]], K * C0 * SPOT_UNIT,
                               rtol=1e-5)


def test_policy_and_changeover_do_not_recompile():
    """``spot_policy`` and ``changeover_hours`` are array leaves: new values reuse the compiled engine."""
    traces = []

    def counted(*args, **kwargs):
        traces.append(1)  # runs only while tracing
        return simulate_chunk(*args, **kwargs)

    jitted = jax.jit(counted, static_argnames="grid")
    ids = jnp.arange(8, dtype=jnp.uint32)
    cfg = deadline_config()
    cfg.engine.horizon_months = 1
    cfg.strategies = {"a": strategy(*POOLS), "b": strategy(*POOLS, spot_policy="uniform_progress")}
    inputs, grid = build_inputs(cfg)
    first = np.asarray(jitted(inputs, root_key(0), ids, grid=grid)["cost"])
    cfg.strategies = {"a": strategy(*POOLS, spot_policy="wait_while_slack", changeover_hours=0.0),
                      "b": strategy(*POOLS, changeover_hours=3.0)}
    inputs2, grid2 = build_inputs(cfg)
    second = np.asarray(jitted(inputs2, root_key(0), ids, grid=grid2)["cost"])
    assert len(traces) == 1
    assert not np.allclose(first, second)


def test_bad_spot_policy_is_one_line():
    line = error_for(["scenario=hybrid", "strategies.spot.spot_policy=greedy"])
    assert "strategies.spot.spot_policy" in line and "greedy" in line and "wait_while_slack" in line
    line = error_for(["scenario=hybrid", "strategies.spot.changeover_hours=-1"])
    assert "changeover_hours" in line and ">= 0" in line


def test_switched_runs_stay_on_demand_when_spot_has_reclaims():
    """With a reclaim hazard the switched run stays on on-demand (a return could spend its slack on reclaims): never
    late, and it pays at least the d = 0 optimum of the same availability."""
    cfg = deadline_config()
    cfg.priors.spot.reclaim_per_instance_hour = fixed(0.1)
    cfg.priors.spot.gpus_per_instance = fixed(8)
    cfg.strategies = {n: cfg.strategies[n] for n in STRATEGIES if n in ("fallback", "wait")}  # same indices
    out, _, grid = run_config(cfg, 64)
    assert out["run_completed"][:, 1, 0].all() and np.all(out["run_lateness_days"][:, 1, 0] == 0.0)
    exact = K * C0 - (K - 1.0) * np.minimum(C0, spot_available_hours(64, grid.dt_days))
    assert np.all(spot_units(out, "wait") >= exact - 1e-3 * C0)
