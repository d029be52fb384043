"""The engine's state and a path's once-drawn randomness: what a step reads and returns (:mod:`simulator.engine.step`).

:class:`State` holds every path's drivers (demand, price index, spot availability, market regime), the owned fleet
(:class:`Fleet`), the backlogs and runs, the ledger of owning and data, reserved commitments, and the costs so far by
category (present value and cash). :func:`path_draws` derives a path's stream keys and the draws made once per path;
:func:`init_state` is the state at t=0 (the initial owned order placed, capacity blocks paid).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine import reserved
from simulator.engine._constants import (
    DAYS_PER_WEEK,
    DAYS_PER_YEAR,
)
from simulator.engine._keys import (
    counter_uniforms,
    step_stream_names,
    stream_keys,
    streams_keys,
)
from simulator.engine.cash import cumulative_spend
from simulator.engine.inputs import EngineInputs, Grid
from simulator.engine.kinds import KINDS
from simulator.engine.ownership import (
    Ledger,
    init_ledger,
)
from simulator.engine.params import Params
from simulator.engine.pools import SlotMarket, slot_market
from simulator.engine.processes import regime
from simulator.engine.procurement import Fleet, empty_orders, initial_order, order
from simulator.engine.routing import (
    NOT_STARTED,
    RunState,
)
from simulator.engine.strategies import COST_CATEGORIES

EXPANSION_STREAM = "owned/expansion_lead_time"  # one uniform per month


class State(NamedTuple):
    log_demand: jax.Array  # ()
    log_index: jax.Array  # ()
    spot_available: jax.Array  # () bool
    shortage: jax.Array  # () bool: the market is in a shortage (:mod:`~simulator.engine.processes.regime`)
    shortage_months: jax.Array  # () months spent in a shortage so far
    fleet: Fleet
    light: jax.Array  # (S,) light GPU-hours waiting
    heavy: jax.Array  # (S,) heavy GPU-hours waiting
    runs: RunState
    notebook_units: jax.Array  # (S,) compute units used this month
    ledger: Ledger  # support cohorts and dataset copies (:mod:`simulator.engine.ownership`)
    commitments: reserved.Commitments  # reserved pools' locked prices and take-or-pay rate (changed at month ends)
    pv: jax.Array  # (S, C) present value by category
    cash: jax.Array  # (S, C) undiscounted
    peak_cash: jax.Array  # (S,) largest cumulative spend (cash) at a month end so far (:mod:`~.accounting`)
    cash_need: jax.Array  # (S,) the same, over the month ends before ``inputs.funding_month`` only
    waited: jax.Array  # (S,) GPU-hour-days of waiting
    demand_gpu_hours: jax.Array  # ()
    failures: jax.Array  # (S,)
    interruptions: jax.Array  # (S, K) per kind (kind code order): events that hit running work


class PathDraws(NamedTuple):
    """A path's randomness for the whole horizon: stream keys, the draws made once per path, and each slot's provider
    prices (constant over the horizon: gathered once per chunk, not per step)."""

    step_keys: jax.Array  # (K, N) keys of the per-step streams, in ``step_stream_names`` order
    expansion_keys: jax.Array  # (N,) key of the monthly lead-time stream
    partnership: jax.Array  # (N,) bool: the academic partnership is obtained
    first_cycle_applied: jax.Array  # (N,) bool: the application for the first allocation cycle is already in
    allocation_cycles: jax.Array  # (cycles, N) uniform deciding each allocation cycle
    initially_available: jax.Array  # (N,) uniform of spot's initial availability
    initially_short: jax.Array  # (N,) uniform of the regime's initial state
    spot_bad_pool: jax.Array  # (N,) bool: the path's spot pool is a bad one
    market: SlotMarket  # (S, P, N) each slot's provider's on-demand price and spot discount


def path_draws(inputs: EngineInputs, params: Params, grid: Grid, root_key: jax.Array, path_ids: jax.Array,
               dtype) -> PathDraws:
    """The stream keys and the once-per-path draws of the paths ``path_ids``."""
    stream = lambda name: stream_keys(root_key, name, path_ids)  # noqa: E731
    once = lambda name: counter_uniforms(stream(name), 0, dtype)  # noqa: E731
    n_cycles = int(grid.horizon_days // DAYS_PER_YEAR) + 2
    cycle_keys = stream("academic/allocation_cycle")
    return PathDraws(step_keys=streams_keys(root_key, step_stream_names(inputs.layout, inputs.run_names), path_ids),
                     expansion_keys=stream(EXPANSION_STREAM),
                     partnership=once("academic/partnership") < params.academic.partnership_probability,
                     first_cycle_applied=once("academic/first_cycle_applied") < params.academic.first_cycle_applied,
                     allocation_cycles=jnp.stack([counter_uniforms(cycle_keys, k, dtype) for k in range(n_cycles)]),
                     initially_available=once("spot/initially_available"),
                     initially_short=once("market/regime_initial"),
                     spot_bad_pool=once("spot/bad_pool") < params.spot.bad_pool_probability,
                     market=slot_market(inputs.strategies, params))


def init_state(inputs: EngineInputs, params: Params, draws: PathDraws, dtype) -> State:
    """The state at t=0: the initial owned order placed (delivered after the lead time), nothing spent."""
    st = inputs.strategies
    n_strategies, n_runs, n_paths = st.kind.shape[0], inputs.run_gpus.shape[0], draws.initially_available.shape[0]
    sizes = list(params.run_gpu_hours)
    run_size = jnp.stack(sizes) if sizes else jnp.zeros((0, n_paths), dtype)  # (R, N)
    zeros = jnp.zeros((n_strategies, n_paths), dtype)
    short = regime.initial_shortage(draws.initially_short, params.regime.shortage_fraction)
    # quoted at t=0 (index = 1) for the owned GPU type, (S, N)
    price = params.market.hardware_usd_per_gpu * st.owned_purchase_ratio * regime.hardware_factor(short, params)
    lead_days = DAYS_PER_WEEK * params.owned.lead_time_weeks * regime.lead_time_factor(short, params)
    ordered = initial_order(st, price)
    categories = jnp.zeros((n_strategies, len(COST_CATEGORIES), n_paths), dtype)
    log_index = jnp.zeros((n_paths,), dtype)
    commitments, upfront = reserved.init(st, params, log_index, short)  # capacity blocks are paid at t=0
    categories = categories + reserved.one_off(st, params, upfront.astype(dtype), categories)
    run_shape = (n_strategies, n_runs, n_paths)
    return State(
        log_demand=jnp.log(jnp.maximum(params.workload.base_gpu_hours_per_day, jnp.finfo(dtype).tiny)),
        log_index=log_index,
        spot_available=draws.initially_available >= regime.spot_unavailable_fraction(short, params),
        shortage=short, shortage_months=jnp.zeros((n_paths,), dtype),
        fleet=order(Fleet(installed=zeros, down=zeros, orders=empty_orders(inputs.order_slots, zeros), waiting=zeros,
                          committed_usd=zeros, resale_weight=zeros, busy_month=zeros, up_month=zeros,
                          months_above=zeros, months_below=zeros),
                    st, ordered, jnp.broadcast_to(lead_days, zeros.shape), jnp.broadcast_to(price, zeros.shape)),
        light=zeros, heavy=zeros,
        runs=RunState(remaining=jnp.broadcast_to(run_size, run_shape).astype(dtype),
                      finish_day=jnp.zeros(run_shape, dtype), switched=jnp.zeros(run_shape, bool),
                      provider=jnp.full(run_shape, -1, jnp.int32), slot=jnp.full(run_shape, NOT_STARTED, jnp.int32)),
        notebook_units=zeros, ledger=init_ledger(n_strategies, n_paths, dtype, len(inputs.providers)),
        commitments=reserved.Commitments(commitments.price.astype(dtype), commitments.usd_per_hour.astype(dtype)),
        pv=categories, cash=categories,
        peak_cash=cumulative_spend(categories), cash_need=cumulative_spend(categories),
        waited=zeros,
        demand_gpu_hours=jnp.zeros((n_paths,), dtype), failures=zeros,
        interruptions=jnp.zeros((n_strategies, len(KINDS), n_paths), dtype),
    )
