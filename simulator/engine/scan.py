"""The Monte Carlo engine: a jitted ``lax.scan`` over months of daily steps, ``vmap`` over paths, arrays over strategies.

Each step (``dt`` days; a whole number of steps fills a month of 365.25/12 days):

1. shared drivers move: demand arrives (:mod:`~simulator.engine.processes.workload`, split into light and heavy work),
   the price index moves (:mod:`~.market`), spot capacity is had or not (:mod:`~.spot`), the academic centre offers
   what its partnership and allocation cycle allow (:mod:`~.academic`); owned fleets receive deliveries and fail
   (:mod:`~.fleet`, :mod:`~.failures`);
2. every pool offers GPUs at a price (:mod:`simulator.engine.pools`);
3. training runs, then light and heavy backlogs, are routed through the pools in priority order
   (:mod:`simulator.engine.routing`); lost work stays in the backlog and is recomputed;
4. costs accrue by category, as cash and at present value ``(1 + r)^{-t / 365.25}`` (mid-step).

At each month end, owned fleets may order an expansion. Delay of steady demand is backlog-weighted:
``delay = (sum_t B_t dt + sum_t Q S_t) / sum_t A_t`` days (Little's law for a fluid FIFO queue, plus the academic
queue wait ``Q`` of the GPU-hours ``S_t`` served there).

Randomness: every stream has a name (:mod:`simulator.engine._keys`); path ``i``'s uniform of stream ``name`` at step
``t`` depends only on (seed, name, i, t), not on the chunk a path runs in or on the other streams. All strategies
consume the same uniforms (common random numbers).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from simulator.engine._constants import (
    DAYS_PER_MONTH,
    DAYS_PER_WEEK,
    DAYS_PER_YEAR,
    HOURS_PER_DAY,
    UP_HOURS_FLOOR,
)
from simulator.engine._keys import (
    NO_HAZARD_UNIFORM,
    PARAMETER_STREAM,
    counter_uniforms,
    step_stream_names,
    stream_keys,
    streams_keys,
)
from simulator.engine._xla import materialise, on_rows, ordered_sum, rows_with
from simulator.engine.accounting import finalise, step_costs, sum_by_kind
from simulator.engine.kinds import OWNED
from simulator.engine.params import Params
from simulator.engine.pools import StepDrivers, by_kind, pool_terms
from simulator.engine.priors import Prior, sample_parameters
from simulator.engine.processes import academic, failures, fleet, market, spot, workload
from simulator.engine.routing import RunState, Usage, route_backlog, route_runs
from simulator.engine.strategies import COST_CATEGORIES, StrategyTable

EXPANSION_STREAM = "owned/expansion_lead_time"  # one uniform per month


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
    # Kind code of every slot, (S, P) nested tuples (see :func:`slot_layout`): static, so work that is zero by kind
    # (a Poisson draw at no hazard, failures of a strategy without owned GPUs) is not compiled; () = unknown.
    slot_kinds: tuple[tuple[int, ...], ...] = dataclasses.field(default=(), metadata=dict(static=True))


def slot_layout(strategies: StrategyTable) -> tuple[tuple[int, ...], ...]:
    """The static kind layout of a (concrete) strategy table, for :attr:`EngineInputs.slot_kinds`."""
    return tuple(tuple(int(k) for k in row) for row in np.asarray(strategies.kind))


class Fleet(NamedTuple):
    installed: jax.Array  # (S,) owned GPUs delivered
    down: jax.Array  # (S,) of which down for repair
    pending: jax.Array  # (S,) ordered, not yet delivered
    pending_day: jax.Array  # (S,) delivery day of the pending order
    pending_price: jax.Array  # (S,) quoted price per GPU of the pending order
    committed_usd: jax.Array  # (S,) capex committed (for the budget)
    resale_weight: jax.Array  # (S,) sum over cohorts of n_c rho^{-d_c / 365.25}
    busy_month: jax.Array  # (S,) owned busy GPU-hours this month
    up_month: jax.Array  # (S,) owned up GPU-hours this month
    months_above: jax.Array  # (S,) consecutive months above the expansion threshold


class State(NamedTuple):
    log_demand: jax.Array  # ()
    log_index: jax.Array  # ()
    spot_available: jax.Array  # () bool
    fleet: Fleet
    light: jax.Array  # (S,) light GPU-hours waiting
    heavy: jax.Array  # (S,) heavy GPU-hours waiting
    runs: RunState
    notebook_units: jax.Array  # (S,) compute units used this month
    pv: jax.Array  # (S, C) present value by category
    cash: jax.Array  # (S, C) undiscounted
    waited: jax.Array  # (S,) GPU-hour-days of waiting
    demand_gpu_hours: jax.Array  # ()
    failures: jax.Array  # (S,)
    interruptions: jax.Array  # (S,)


def _step(inputs: EngineInputs, params: Params, grid: Grid, keys: dict[str, jax.Array],
          state: State, step_index: jax.Array) -> State:
    """Advance every path by one step for all strategies (see the module docstring); paths on the last axis."""
    st, dt = inputs.strategies, grid.dt_days
    dtype = state.light.dtype
    layout = inputs.slot_kinds or None
    names = step_stream_names(layout, inputs.run_names)
    u = dict(zip(names, counter_uniforms(keys["step"], step_index, dtype), strict=True))
    t_start = step_index.astype(dtype) * dt
    hours = HOURS_PER_DAY * dt

    # Shared drivers.
    arrivals = jnp.exp(state.log_demand) * dt
    k = academic.cycle_index(t_start, params.academic.first_allocation_day)
    cycles = keys["academic_cycles"]
    u_cycle = jnp.take_along_axis(cycles, jnp.clip(k, 0, cycles.shape[0] - 1)[None], axis=0)[0]
    academic_gpus = academic.available_gpus(t_start, params.academic, keys["partnership"], u_cycle)

    # Owned fleet: deliveries, failures.
    fl = state.fleet
    arrived = (fl.pending > 0.0) & (t_start >= fl.pending_day)
    delivered = jnp.where(arrived, fl.pending, 0.0)
    capex = delivered * fl.pending_price
    installed = fl.installed + delivered
    weight = fl.resale_weight + fleet.resale_weight(delivered, t_start, params.owned.resale_retention_per_year)
    up_start = installed - fl.down
    # Only strategies with an owned slot can have GPUs (expansions need owned utilisation): elsewhere all zero.
    owned_rows = rows_with(layout, installed.shape[0], (OWNED,))
    step_failures = lambda down, inst: jnp.stack(failures.failure_step(  # noqa: E731
        down, inst, params.owned.failure_per_gpu_hour, params.owned.repair_days, u["owned/failures"], u["owned/repairs"], dt))
    drawn = on_rows(owned_rows, installed.shape[0], lambda d, i: jnp.moveaxis(step_failures(d, i), 0, 1),
                    fl.down, installed)
    failed, down_next = (jnp.zeros_like(installed), fl.down) if drawn is None else (drawn[:, 0], drawn[:, 2])
    up = up_start - failed
    failed_share = failed / jnp.maximum(up_start, 1.0)

    terms = pool_terms(st, params, StepDrivers(state.log_index, up, state.spot_available, academic_gpus))
    efficiency = spot.checkpoint_efficiency(st.checkpoint_interval_hours, params.workload.checkpoint_cost_hours)
    loss_hours = spot.loss_hours_per_interruption(st.checkpoint_interval_hours,
                                                  params.workload.checkpoint_cost_hours,
                                                  params.workload.restart_hours)
    always = jnp.isfinite(t_start)  # efficiency and loss_hours stay inline (see _xla)
    terms, up, failed_share = materialise((terms, up, failed_share), always)
    n_slots = st.kind.shape[1]
    usage = Usage(free=[terms.capacity[:, p] for p in range(n_slots)],
                  wall=[jnp.zeros_like(state.light) for _ in range(n_slots)], interruptions=state.interruptions,
                  migration_usd=jnp.zeros_like(state.light), queue_gpu_hour_days=jnp.zeros_like(state.light))
    runs, usage = route_runs(state.runs, usage, terms, st.kind, st.serves_runs, st.deadline_aware, inputs.run_gpus,
                             inputs.run_start_day, inputs.run_deadline_day, t_start, dt, efficiency,
                             loss_hours, failed_share, [u[f"runs/{name}"] for name in inputs.run_names], params.workload.migration_usd,
                             params.workload.checkpoint_tb, st.provider, params.market.egress_usd_per_tb,
                             params.marketplace.bandwidth_usd_per_tb, layout)
    runs, usage = materialise((runs, usage), always)
    light_share = params.workload.light_fraction
    u_light = by_kind(st.kind, NO_HAZARD_UNIFORM, **{k: v for n, v in u.items() if (k := n.removeprefix("light/")) != n})
    u_heavy = by_kind(st.kind, NO_HAZARD_UNIFORM, **{k: v for n, v in u.items() if (k := n.removeprefix("heavy/")) != n})
    light, usage = route_backlog(state.light + arrivals * light_share, st.serves_light, usage, terms, st.kind, dt,
                                 efficiency, loss_hours, failed_share, u_light, layout)
    light, usage = materialise((light, usage), always)
    heavy, usage = route_backlog(state.heavy + arrivals * (1.0 - light_share), st.serves_heavy, usage, terms,
                                 st.kind, dt, efficiency, loss_hours, failed_share, u_heavy, layout)
    heavy, usage = materialise((heavy, usage), always)

    cash_step, notebook_units = step_costs(st, params, terms, usage, installed, up, capex, state.notebook_units,
                                           hours, dt, keys["partnership"])
    discount = (1.0 + inputs.discount_rate_per_year) ** (-(t_start + 0.5 * dt) / DAYS_PER_YEAR)
    busy_owned = sum_by_kind(usage.wall, st.kind, OWNED)  # one owned slot: exact
    fl = Fleet(installed, down_next, jnp.where(arrived, 0.0, fl.pending), fl.pending_day, fl.pending_price,
               fl.committed_usd, weight, fl.busy_month + busy_owned, fl.up_month + up * hours, fl.months_above)
    p_lose, p_regain = spot.transition_probabilities(params.spot.unavailable_fraction,
                                                     params.spot.unavailable_spell_days, dt)
    return State(
        log_demand=workload.log_demand_step(state.log_demand, params.workload.growth_multiplier_per_year,
                                            params.workload.volatility_per_year, ndtri(u["workload/demand"]),
                                            dt / DAYS_PER_YEAR),
        log_index=market.log_index_step(state.log_index, params.market.drift_per_year,
                                        params.market.volatility_per_year, ndtri(u["market/index"]), dt / DAYS_PER_YEAR),
        spot_available=spot.availability_step(state.spot_available, u["spot/availability"], p_lose, p_regain),
        fleet=fl, light=light, heavy=heavy, runs=runs, notebook_units=notebook_units,
        pv=state.pv + cash_step * discount, cash=state.cash + cash_step,
        waited=state.waited + (light + heavy) * dt + usage.queue_gpu_hour_days,
        demand_gpu_hours=state.demand_gpu_hours + arrivals,
        failures=state.failures + failed, interruptions=usage.interruptions,
    )


def _month_end(inputs: EngineInputs, params: Params, grid: Grid, keys: dict[str, jax.Array],
               state: State, m: jax.Array) -> State:
    """Expansion orders on sustained utilisation (capped by the capex budget); reset monthly counters."""
    st, fl = inputs.strategies, state.fleet
    utilisation = fl.busy_month / jnp.maximum(fl.up_month, UP_HOURS_FLOOR)
    months_above, order = fleet.expansion_due(utilisation, fl.months_above, st.expansion_threshold,
                                              st.expansion_months, fl.pending, st.expansion_gpus)
    price = market.loaded_price(params.market.hardware_usd_per_gpu, state.log_index,
                                params.market.loading_hardware)
    gpus = jnp.where(order, fleet.affordable(st.expansion_gpus, price, st.capex_budget_usd - fl.committed_usd), 0.0)
    u_lead = counter_uniforms(keys["expansion"], m, state.light.dtype)
    lead_days = DAYS_PER_WEEK * inputs.priors["owned.lead_time_weeks"].ppf(u_lead)
    now = (m + 1).astype(state.light.dtype) * grid.steps_per_month * grid.dt_days
    placed = gpus > 0.0
    fl = fl._replace(pending=jnp.where(placed, gpus, fl.pending),
                     pending_day=jnp.where(placed, now + lead_days, fl.pending_day),
                     pending_price=jnp.where(placed, price, fl.pending_price),
                     committed_usd=fl.committed_usd + gpus * price,
                     busy_month=jnp.zeros_like(fl.busy_month), up_month=jnp.zeros_like(fl.up_month),
                     months_above=months_above)
    return state._replace(fleet=fl, notebook_units=jnp.zeros_like(state.notebook_units))


def _initial_state(inputs: EngineInputs, params: Params, u_spot: jax.Array, dtype) -> State:
    st = inputs.strategies
    n_strategies, n_runs, n_paths = st.kind.shape[0], inputs.run_gpus.shape[0], u_spot.shape[0]
    sizes = list(params.run_gpu_hours)
    run_size = jnp.stack(sizes) if sizes else jnp.zeros((0, n_paths), dtype)  # (R, N)
    zeros = jnp.zeros((n_strategies, n_paths), dtype)
    price = params.market.hardware_usd_per_gpu  # quoted at t=0 (index = 1)
    ordered = fleet.affordable(st.owned_ordered, price, st.capex_budget_usd)
    categories = jnp.zeros((n_strategies, len(COST_CATEGORIES), n_paths), dtype)
    return State(
        log_demand=jnp.log(jnp.maximum(params.workload.base_gpu_hours_per_day, jnp.finfo(dtype).tiny)),
        log_index=jnp.zeros((n_paths,), dtype),
        spot_available=u_spot >= params.spot.unavailable_fraction,
        fleet=Fleet(installed=zeros, down=zeros, pending=ordered,
                    pending_day=jnp.broadcast_to(DAYS_PER_WEEK * params.owned.lead_time_weeks, zeros.shape),
                    pending_price=jnp.broadcast_to(price, zeros.shape), committed_usd=ordered * price,
                    resale_weight=zeros, busy_month=zeros, up_month=zeros, months_above=zeros),
        light=zeros, heavy=zeros,
        runs=RunState(remaining=jnp.broadcast_to(run_size, (n_strategies, n_runs, n_paths)).astype(dtype),
                      finish_day=jnp.zeros((n_strategies, n_runs, n_paths), dtype),
                      switched=jnp.zeros((n_strategies, n_runs, n_paths), bool),
                      provider=jnp.full((n_strategies, n_runs, n_paths), -1, jnp.int32)),
        notebook_units=zeros, pv=categories, cash=categories, waited=zeros,
        demand_gpu_hours=jnp.zeros((n_paths,), dtype), failures=zeros, interruptions=zeros,
    )


def simulate_chunk(inputs: EngineInputs, root_key: jax.Array, path_ids: jax.Array, grid: Grid) -> dict:
    """Simulate the paths ``path_ids`` for every strategy; every output has a leading path axis.

    Inside, paths sit on the last axis of every array (see :meth:`StrategyTable.with_path_axis`); only the key
    derivations are vmapped over paths. Path ``i`` draws from keys folded from ``(root, stream, i)`` alone.
    """
    dtype = inputs.discount_rate_per_year.dtype
    inputs = dataclasses.replace(inputs, strategies=inputs.strategies.with_path_axis())
    flat = sample_parameters(inputs.priors, stream_keys(root_key, PARAMETER_STREAM, path_ids), dtype)
    params = Params.from_flat(flat, inputs.run_names)
    once = lambda name: counter_uniforms(stream_keys(root_key, name, path_ids), 0, dtype)  # noqa: E731
    n_cycles = int(grid.horizon_days // DAYS_PER_YEAR) + 2
    cycle_keys = stream_keys(root_key, "academic/allocation_cycle", path_ids)
    step_names = step_stream_names(inputs.slot_kinds or None, inputs.run_names)
    keys = {"step": streams_keys(root_key, step_names, path_ids),
            "expansion": stream_keys(root_key, EXPANSION_STREAM, path_ids),
            "partnership": once("academic/partnership") < params.academic.partnership_probability,
            "academic_cycles": jnp.stack([counter_uniforms(cycle_keys, k, dtype) for k in range(n_cycles)])}
    state = _initial_state(inputs, params, once("spot/initially_available"), dtype)

    def month(state: State, m: jax.Array):
        def day(state: State, k: jax.Array):
            return _step(inputs, params, grid, keys, state, m * grid.steps_per_month + k), None

        state, _ = jax.lax.scan(day, state, jnp.arange(grid.steps_per_month))
        snapshot = dict(cumulative_cost=ordered_sum(state.pv), backlog=state.light + state.heavy,
                        owned_gpus_up=state.fleet.installed - state.fleet.down,
                        price_index=jnp.exp(state.log_index), demand_rate=jnp.exp(state.log_demand))
        return _month_end(inputs, params, grid, keys, state, m), snapshot

    state, monthly = jax.lax.scan(month, state, jnp.arange(grid.months))
    return finalise(inputs, params, grid.horizon_days, state, monthly)


simulate_chunk_jit = jax.jit(simulate_chunk, static_argnames="grid")
