"""The Monte Carlo engine: a jitted ``lax.scan`` over months of daily steps, ``vmap`` over paths, arrays over strategies.

Each step (``dt`` days; a whole number of steps fills a month of 365.25/12 days):

1. demand arrives (:mod:`~simulator.processes.workload`), the price index moves (:mod:`~.market`), spot capacity
   is had or not (:mod:`~.spot`), owned GPUs fail and are repaired (:mod:`~.failures`);
2. every pool offers GPUs: owned GPUs that are installed and up, spot up to its quota when available, on-demand up
   to its quota;
3. active training runs (in the order the scenario names them) take ``gpus`` GPUs, all on the first pool with room;
   then the steady backlog is routed through the pools in priority order. Interruptions and failures destroy work
   since the last checkpoint, which stays in the backlog and is recomputed;
4. costs accrue by category, undiscounted (cash) and at present value ``(1 + r)^{-t / 365.25}`` at mid-step;
   unserved work carries over.

Delay of steady demand is backlog-weighted: ``delay = sum_t B_t dt / sum_t A_t`` days (Little's law for a fluid
FIFO queue: the mean wait of a GPU-hour of demand, ``B_t`` the end-of-step backlog and ``A_t`` the arrivals).

Randomness: path ``i`` uses ``fold_in(fold_in(root, stream), i)`` for each stream (parameters, steps), then
``fold_in(path_key, step)``; nothing depends on the chunk a path runs in. All strategies consume the same uniforms
(common random numbers): the same demand, prices, spot availability and failure draws on a path.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from .priors import Prior, sample_path_parameters, stable_id, uniforms
from .processes import failures, market, spot, workload
from .strategies import CATEGORY_INDEX, COST_CATEGORIES, EMPTY, ON_DEMAND, OWNED, SPOT, StrategyTable

PARAMETER_STREAM = stable_id("stream/parameters")
STEP_STREAM = stable_id("stream/steps")
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
U_DEMAND, U_MARKET, U_SPOT_STATE, U_FAIL, U_REPAIR, U_SPOT_GENERAL, U_RUNS = range(7)


@dataclasses.dataclass(frozen=True)
class Grid:
    """Static time grid: ``months`` x ``steps_per_month`` steps of ``dt_days``."""

    months: int
    steps_per_month: int

    @property
    def dt_days(self) -> float:
        return DAYS_PER_MONTH / self.steps_per_month

    @property
    def horizon_days(self) -> float:
        return self.months * DAYS_PER_MONTH

    @classmethod
    def from_step(cls, horizon_months: int, step_days: float) -> Grid:
        return cls(horizon_months, max(1, round(DAYS_PER_MONTH / step_days)))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class EngineInputs:
    """Everything numeric the engine reads; all leaves are arrays, so new values never recompile."""

    priors: dict[str, Prior]
    strategies: StrategyTable
    run_gpus: jax.Array  # (R,)
    run_start_day: jax.Array  # (R,)
    run_deadline_day: jax.Array  # (R,)
    discount_rate_per_year: jax.Array  # ()
    run_names: tuple[str, ...] = dataclasses.field(default=(), metadata=dict(static=True))


class State(NamedTuple):
    log_demand: jax.Array  # ()
    log_index: jax.Array  # ()
    spot_available: jax.Array  # () bool
    delivered: jax.Array  # () bool: owned fleets (all strategies) installed
    delivery_day: jax.Array  # ()
    down: jax.Array  # (S,) owned GPUs down
    backlog: jax.Array  # (S,) GPU-hours waiting
    run_remaining: jax.Array  # (S, R) GPU-hours of useful work left
    run_finish_day: jax.Array  # (S, R)
    pv: jax.Array  # (S, C) present value by category
    cash: jax.Array  # (S, C) undiscounted
    backlog_gpu_hour_days: jax.Array  # (S,)
    demand_gpu_hours: jax.Array  # ()
    failures: jax.Array  # (S,) owned GPU failures so far
    interruptions: jax.Array  # (S,) spot reclaims so far (steady work and runs)


def ordered_sum(x: jax.Array) -> jax.Array:
    """Sum over the last axis in a fixed left-to-right order.

    ``jnp.sum`` lets XLA pick a reduction order that depends on the batch shape; a fixed order keeps every path's
    result bit-identical whatever the chunk size.
    """
    total = x[..., 0]
    for i in range(1, x.shape[-1]):
        total = total + x[..., i]
    return total


def _pool_values(kind: jax.Array, owned: jax.Array, on_demand: jax.Array, spot_value: jax.Array) -> jax.Array:
    """Per-slot value chosen by pool kind; ``owned``/``on_demand``/``spot_value`` broadcast against ``kind``."""
    return jnp.where(
        kind == OWNED,
        owned,
        jnp.where(kind == ON_DEMAND, on_demand, jnp.where(kind == SPOT, spot_value, 0.0)),
    )


def _step(
    inputs: EngineInputs,
    theta: dict[str, jax.Array],
    grid: Grid,
    state: State,
    step_index: jax.Array,
    step_key: jax.Array,
) -> State:
    """Advance one path by one step for all strategies (see the module docstring)."""
    st = inputs.strategies
    dtype = state.backlog.dtype
    dt = grid.dt_days
    hours = 24.0 * dt
    n_runs = inputs.run_gpus.shape[0]
    u = uniforms(jax.random.fold_in(step_key, step_index), (U_RUNS + n_runs,), dtype)
    t_start = step_index.astype(dtype) * dt
    discount = (1.0 + inputs.discount_rate_per_year) ** (-(t_start + 0.5 * dt) / DAYS_PER_YEAR)

    # Drivers shared by every strategy (common random numbers).
    demand_rate = jnp.exp(state.log_demand)
    arrivals = demand_rate * dt
    index = state.log_index
    od_price = market.loaded_price(
        theta["market.on_demand_usd_per_gpu_hour"], index, theta["market.loading_on_demand"]
    )
    spot_price = market.loaded_price(
        (1.0 - theta["market.spot_discount"]) * theta["market.on_demand_usd_per_gpu_hour"],
        index,
        theta["market.loading_spot"],
    )
    hardware_price = market.loaded_price(
        theta["market.hardware_usd_per_gpu"], index, theta["market.loading_hardware"]
    )
    p_lose, p_regain = spot.transition_probabilities(
        theta["spot.unavailable_fraction"], theta["spot.unavailable_spell_days"], dt
    )
    lead_days = 7.0 * theta["owned.lead_time_weeks"]
    delivered_now = (~state.delivered) & (t_start >= lead_days)
    delivered = state.delivered | delivered_now
    delivery_day = jnp.where(delivered_now, t_start, state.delivery_day)

    # Owned fleet: installed, failures, capacity.
    installed = jnp.where(delivered, st.owned_gpus, 0.0)
    up_start = installed - state.down
    failed, _, down_next = failures.failure_step(
        state.down,
        installed,
        theta["owned.failure_per_gpu_hour"],
        theta["owned.repair_days"],
        u[U_FAIL],
        u[U_REPAIR],
        dt,
    )
    up = up_start - failed
    capacity = _pool_values(st.kind, up[:, None], st.gpus, jnp.where(state.spot_available, st.gpus, 0.0))
    free = jnp.where(st.kind == EMPTY, 0.0, capacity)  # (S, P) GPUs for this step

    efficiency = spot.checkpoint_efficiency(
        st.checkpoint_interval_hours, theta["workload.checkpoint_cost_hours"]
    )
    loss_hours = spot.loss_hours_per_interruption(
        st.checkpoint_interval_hours, theta["workload.checkpoint_cost_hours"], theta["workload.restart_hours"]
    )
    gpus_per_instance = theta["spot.gpus_per_instance"]
    reclaim = theta["spot.reclaim_per_instance_hour"]
    failed_share = failed / jnp.maximum(up_start, 1.0)  # failures per up GPU this step
    slot_wall = jnp.zeros_like(free)  # wall GPU-hours used per slot
    interruptions = state.interruptions

    # Training runs: all GPUs of a run on the first pool with room.
    remaining, finish = state.run_remaining, state.run_finish_day
    for r in range(n_runs):
        width = inputs.run_gpus[r]
        begin = jnp.maximum(t_start, inputs.run_start_day[r])  # a run may start mid-step
        share = jnp.clip((t_start + dt - begin) / dt, 0.0, 1.0)  # part of the step it can use
        active = (share > 0.0) & (remaining[:, r] > 0.0)
        fits = (free >= width) & (st.kind != EMPTY)
        chosen = fits & (jnp.cumsum(fits, axis=1) == 1) & active[:, None]
        running = jnp.any(chosen, axis=1)
        wall = width * hours * share
        on_spot = jnp.any(chosen & (st.kind == SPOT), axis=1)
        on_owned = jnp.any(chosen & (st.kind == OWNED), axis=1)
        spot_useful, reclaims = spot.useful_gpu_hours(
            wall, width, gpus_per_instance, reclaim, loss_hours, efficiency, u[U_RUNS + r]
        )
        owned_useful = jnp.maximum(0.0, wall - share * failed_share * width * width * loss_hours) * efficiency
        useful = jnp.where(on_spot, spot_useful, jnp.where(on_owned, owned_useful, wall * efficiency))
        useful = jnp.where(running, useful, 0.0)
        interruptions = interruptions + jnp.where(running & on_spot, reclaims, 0.0)
        done = jnp.minimum(remaining[:, r], useful)
        fraction = jnp.where(useful > 0.0, done / jnp.maximum(useful, 1e-30), 0.0)
        finished_now = running & (done >= remaining[:, r])
        finish = finish.at[:, r].set(jnp.where(finished_now, begin + fraction * share * dt, finish[:, r]))
        remaining = remaining.at[:, r].add(-done)
        free = free - jnp.where(chosen, width * share * fraction[:, None], 0.0)
        slot_wall = slot_wall + jnp.where(chosen, wall * fraction[:, None], 0.0)

    # Steady backlog through the pools in priority order.
    backlog = state.backlog + arrivals
    for p in range(st.kind.shape[1]):
        kind = st.kind[:, p]
        wall = jnp.minimum(free[:, p] * hours, backlog / efficiency)
        spot_useful, reclaims = spot.useful_gpu_hours(
            wall, gpus_per_instance, gpus_per_instance, reclaim, loss_hours, efficiency, u[U_SPOT_GENERAL]
        )
        interruptions = interruptions + jnp.where(kind == SPOT, reclaims, 0.0)
        owned_useful = jnp.maximum(0.0, wall - failed_share * (wall / hours) * loss_hours) * efficiency
        useful = _pool_values(kind, owned_useful, wall * efficiency, spot_useful)
        backlog = backlog - jnp.minimum(backlog, useful)
        slot_wall = slot_wall.at[:, p].add(wall)

    # Costs of this step, by category.
    energy_price = theta["owned.kw_per_gpu"] * theta["owned.pue"] * theta["market.electricity_usd_per_kwh"]
    idle = theta["owned.idle_power_fraction"]
    busy_owned = ordered_sum(jnp.where(st.kind == OWNED, slot_wall, 0.0))
    staff_fte = jnp.maximum(theta["owned.min_fte"], theta["owned.fte_per_100_gpus"] * installed / 100.0)
    by_category = {
        "on_demand": ordered_sum(jnp.where(st.kind == ON_DEMAND, slot_wall, 0.0)) * od_price,
        "spot": ordered_sum(jnp.where(st.kind == SPOT, slot_wall, 0.0)) * spot_price,
        "capex": jnp.where(delivered_now, st.owned_gpus * hardware_price, 0.0),
        "power": (busy_owned * (1.0 - idle) + idle * up * hours) * energy_price,
        "facility": installed
        * theta["owned.kw_per_gpu"]
        * theta["owned.facility_usd_per_kw_month"]
        * dt
        / DAYS_PER_MONTH,
        "staff": jnp.where(
            installed > 0.0, staff_fte * theta["owned.staff_usd_per_fte_year"] * dt / DAYS_PER_YEAR, 0.0
        ),
        "residual": jnp.zeros_like(installed),
    }
    cash_step = jnp.stack([by_category[name] for name in COST_CATEGORIES], axis=1)

    z_demand, z_market = ndtri(u[U_DEMAND]), ndtri(u[U_MARKET])
    return State(
        log_demand=workload.log_demand_step(
            state.log_demand,
            theta["workload.growth_multiplier_per_year"],
            theta["workload.volatility_per_year"],
            z_demand,
            dt / DAYS_PER_YEAR,
        ),
        log_index=market.log_index_step(
            state.log_index,
            theta["market.drift_per_year"],
            theta["market.volatility_per_year"],
            z_market,
            dt / DAYS_PER_YEAR,
        ),
        spot_available=spot.availability_step(state.spot_available, u[U_SPOT_STATE], p_lose, p_regain),
        delivered=delivered,
        delivery_day=delivery_day,
        down=down_next,
        backlog=backlog,
        run_remaining=remaining,
        run_finish_day=finish,
        pv=state.pv + cash_step * discount,
        cash=state.cash + cash_step,
        backlog_gpu_hour_days=state.backlog_gpu_hour_days + backlog * dt,
        demand_gpu_hours=state.demand_gpu_hours + arrivals,
        failures=state.failures + failed,
        interruptions=interruptions,
    )


def _initial_state(inputs: EngineInputs, theta: dict[str, jax.Array], u_spot: jax.Array, dtype) -> State:
    n_strategies, n_runs = inputs.strategies.kind.shape[0], inputs.run_gpus.shape[0]
    sizes = [theta[f"runs.{name}.gpu_hours"] for name in inputs.run_names]
    run_size = jnp.stack(sizes) if sizes else jnp.zeros((0,), dtype)
    zeros = jnp.zeros((n_strategies,), dtype)
    return State(
        log_demand=jnp.log(jnp.maximum(theta["workload.base_gpu_hours_per_day"], jnp.finfo(dtype).tiny)),
        log_index=jnp.zeros((), dtype),
        spot_available=u_spot >= theta["spot.unavailable_fraction"],
        delivered=jnp.zeros((), bool),
        delivery_day=jnp.zeros((), dtype),
        down=zeros,
        backlog=zeros,
        run_remaining=jnp.broadcast_to(run_size, (n_strategies, n_runs)).astype(dtype),
        run_finish_day=jnp.zeros((n_strategies, n_runs), dtype),
        pv=jnp.zeros((n_strategies, len(COST_CATEGORIES)), dtype),
        cash=jnp.zeros((n_strategies, len(COST_CATEGORIES)), dtype),
        backlog_gpu_hour_days=zeros,
        demand_gpu_hours=jnp.zeros((), dtype),
        failures=zeros,
        interruptions=zeros,
    )


def simulate_path(
    inputs: EngineInputs, root_key: jax.Array, path_id: jax.Array, grid: Grid
) -> dict[str, jax.Array]:
    """Simulate one path for every strategy; returns per-path outputs (see :func:`simulate_chunk`)."""
    dtype = inputs.discount_rate_per_year.dtype
    parameter_key = jax.random.fold_in(jax.random.fold_in(root_key, PARAMETER_STREAM), path_id)
    step_key = jax.random.fold_in(jax.random.fold_in(root_key, STEP_STREAM), path_id)
    theta = sample_path_parameters(inputs.priors, parameter_key, dtype)
    u_spot = uniforms(jax.random.fold_in(parameter_key, stable_id("spot.initial_state")), (), dtype)
    state = _initial_state(inputs, theta, u_spot, dtype)

    def month(state: State, m: jax.Array):
        def day(state: State, k: jax.Array):
            return _step(inputs, theta, grid, state, m * grid.steps_per_month + k, step_key), None

        state, _ = jax.lax.scan(day, state, jnp.arange(grid.steps_per_month))
        snapshot = dict(
            cumulative_cost=ordered_sum(state.pv),
            backlog=state.backlog,
            owned_gpus_up=jnp.where(state.delivered, inputs.strategies.owned_gpus - state.down, 0.0),
            price_index=jnp.exp(state.log_index),
            demand_rate=jnp.exp(state.log_demand),
        )
        return state, snapshot

    state, monthly = jax.lax.scan(month, state, jnp.arange(grid.months))
    return _finalise(inputs, theta, grid, state, monthly)


def _finalise(
    inputs: EngineInputs, theta: dict[str, jax.Array], grid: Grid, state: State, monthly: dict[str, jax.Array]
) -> dict[str, jax.Array]:
    """Residual value at the horizon, run finish times and lateness, delay."""
    horizon = grid.horizon_days
    age_years = (horizon - state.delivery_day) / DAYS_PER_YEAR
    resale_per_gpu = (
        market.loaded_price(
            theta["market.hardware_usd_per_gpu"], state.log_index, theta["market.loading_hardware"]
        )
        * theta["owned.resale_retention_per_year"] ** age_years
    )
    residual = -jnp.where(state.delivered, inputs.strategies.owned_gpus * resale_per_gpu, 0.0)
    discount_end = (1.0 + inputs.discount_rate_per_year) ** (-horizon / DAYS_PER_YEAR)
    column = CATEGORY_INDEX["residual"]
    pv = state.pv.at[:, column].add(residual * discount_end)
    cash = state.cash.at[:, column].add(residual)
    # Unfinished runs: extrapolate at full width without interruptions (an optimistic finish, flagged).
    full_rate = (
        inputs.run_gpus
        * 24.0
        * spot.checkpoint_efficiency(
            inputs.strategies.checkpoint_interval_hours[:, None], theta["workload.checkpoint_cost_hours"]
        )
    )
    completed = state.run_remaining <= 0.0
    finish = jnp.where(completed, state.run_finish_day, horizon + state.run_remaining / full_rate)
    lateness = jnp.maximum(0.0, finish - inputs.run_deadline_day)
    delay = state.backlog_gpu_hour_days / jnp.maximum(state.demand_gpu_hours, jnp.finfo(pv.dtype).tiny)
    monthly = {k: jnp.moveaxis(v, 0, -1) for k, v in monthly.items()}  # time last
    return dict(
        cost=ordered_sum(pv),
        cost_by_category=pv,
        cash_by_category=cash,
        delay=delay,
        run_finish_day=finish,
        run_lateness_days=lateness,
        run_completed=completed,
        final_backlog=state.backlog,
        owned_failures=state.failures,
        spot_interruptions=state.interruptions,
        parameters=theta,
        **monthly,
    )


def simulate_chunk(inputs: EngineInputs, root_key: jax.Array, path_ids: jax.Array, grid: Grid):
    """Simulate the paths ``path_ids`` (vmapped); every output gains a leading path axis."""
    return jax.vmap(simulate_path, in_axes=(None, None, 0, None))(inputs, root_key, path_ids, grid)


simulate_chunk_jit = jax.jit(simulate_chunk, static_argnames="grid")
