"""One path-batch step of the model, ``step`` and ``month_end`` over the explicit state pytree of
:mod:`simulator.engine.state` (which also builds the state at t=0, ``init_state``).

Each step (``dt`` days; a whole number of steps fills a month of 365.25/12 days):

1. shared drivers (:func:`_drivers`): demand arrives (:mod:`~simulator.engine.processes.workload`, split into light
   and heavy work), the academic centre offers what its partnership and allocation cycle allow
   (:mod:`~.academic`); the price index (:mod:`~.market`), spot availability (:mod:`~.spot`, at the unavailable
   fraction of the current regime) and the market regime, normal or shortage (:mod:`~.regime`), move at the end;
2. owned fleets return leases, receive deliveries and fail (:func:`_fleet_step`; :mod:`~.fleet`, :mod:`~.failures`);
3. every pool offers GPUs at a price (:mod:`simulator.engine.pools`); training runs, then light and heavy backlogs,
   are routed through the pools in priority order (:func:`_route`, :mod:`simulator.engine.routing`); lost work stays
   in the backlog and is recomputed;
4. costs accrue by category, as cash and at present value ``(1 + r)^{-t / 365.25}`` (mid-step) (:func:`_accrue`):
   spend (:mod:`~simulator.engine.accounting`, :mod:`~simulator.engine.ownership`) and the delay cost of the work
   still waiting (:mod:`~simulator.engine.shortfall`).

At each month end (:func:`month_end`), owned fleets may sell GPUs and place an order (expansion, schedule, base
stock: :mod:`simulator.engine.procurement`, which also holds the order slots delivered in step 2 and the leases), a
year-old delivery cohort joins the support base (:func:`~simulator.engine.ownership.roll_month`), and reserved commitments are signed or renewed at the
then-current price, or exited (a fee), which sets next month's take-or-pay (:mod:`~simulator.engine.reserved`;
capacity blocks are paid in :func:`~simulator.engine.state.init_state`, at t=0). An order placed in a shortage (at
t=0 or a month end) is quoted ``m_hw`` times the normal price and takes ``m_lead`` times the normal lead time
(:mod:`~.regime`). Delay of steady demand is backlog-weighted:
``delay = (sum_t B_t dt + sum_t Q S_t + B_T^2 / (2 rho)) / sum_t A_t`` days (Little's law for a fluid FIFO queue,
plus the academic queue wait ``Q`` of the GPU-hours ``S_t`` served there, plus the wait after the horizon until the
final backlog is cleared at ``rho`` GPU-hours a day, :mod:`~simulator.engine.shortfall`).

Paths are the last axis of every array; strategies (S), slots (P) and runs (R) lead.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from simulator.engine import procurement, reserved
from simulator.engine._constants import (
    DAYS_PER_MONTH,
    DAYS_PER_WEEK,
    DAYS_PER_YEAR,
    HOURS_PER_DAY,
    UP_HOURS_FLOOR,
)
from simulator.engine._keys import (
    NO_HAZARD_UNIFORM,
    counter_uniforms,
    step_stream_names,
)
from simulator.engine._xla import kinds_present, materialise, on_rows, rows_with
from simulator.engine.accounting import FleetStep, step_costs, sum_by_kind
from simulator.engine.cash import track as track_cash
from simulator.engine.inputs import EngineInputs, Grid
from simulator.engine.kinds import OWNED, RESERVED
from simulator.engine.ownership import (
    dataset_costs,
    record_delivery,
    roll_month,
    shrink,
    supported_capex,
)
from simulator.engine.params import Params
from simulator.engine.pools import PoolTerms, StepDrivers, by_kind, pool_terms
from simulator.engine.processes import academic, failures, fleet, market, regime, spot, workload
from simulator.engine.routing import (
    RunState,
    StepContext,
    Usage,
    migration_costs,
    route_backlog,
    route_runs,
)
from simulator.engine.spot_policy import SpotPolicy
from simulator.engine.state import Fleet, PathDraws, State
from simulator.engine.strategies import CATEGORY_INDEX


def step(inputs: EngineInputs, params: Params, grid: Grid, draws: PathDraws, state: State,
         step_index: jax.Array) -> State:
    """Advance every path by one step for all strategies (see the module docstring)."""
    st, dt, dtype = inputs.strategies, grid.dt_days, state.light.dtype
    t_start = step_index.astype(dtype) * dt
    names = step_stream_names(inputs.layout, inputs.run_names)
    u = dict(zip(names, counter_uniforms(draws.step_keys, step_index, dtype), strict=True))
    arrivals, academic_gpus = _drivers(params, draws, state, t_start, dt)
    owned = _fleet_step(inputs, params, state.fleet, u, t_start, dt)
    month = step_index // grid.steps_per_month
    drivers = StepDrivers(log_index=state.log_index, owned_up=owned.offered, spot_available=state.spot_available,
                          academic_gpus=academic_gpus, market=draws.market, shortage=state.shortage,
                          spot_bad_pool=draws.spot_bad_pool, month=month)
    terms = pool_terms(st, params, drivers, inputs.layout)
    efficiency = spot.checkpoint_efficiency(st.checkpoint_interval_hours, params.workload.checkpoint_cost_hours)
    loss_hours = spot.loss_hours_per_interruption(st.checkpoint_interval_hours, params.workload.checkpoint_cost_hours,
                                                  params.workload.restart_hours)
    always = jnp.isfinite(t_start)  # efficiency and loss_hours stay inline (see _xla)
    terms, up, failed_share = materialise((terms, owned.up, owned.failed_share), always)
    owned = owned._replace(up=up, failed_share=failed_share)
    ctx = StepContext(kind=st.kind, provider=st.provider, t_start=t_start, dt=dt, efficiency=efficiency,
                      loss_hours=loss_hours, failed_share=failed_share, throughput=st.throughput,
                      layout=inputs.layout, always=always)
    routed = _route(inputs, params, state, terms, ctx, u, arrivals)
    return _accrue(inputs, params, draws, state, owned, terms, routed, u, arrivals, ctx)


def _drivers(params: Params, draws: PathDraws, state: State, t_start: jax.Array, dt: float):
    """Demand arriving this step (GPU-hours, (N,)) and the academic centre's GPUs on offer."""
    arrivals = jnp.exp(state.log_demand) * dt
    k = academic.cycle_index(t_start, params.academic.first_allocation_day)
    cycles = draws.allocation_cycles
    u_cycle = jnp.take_along_axis(cycles, jnp.clip(k, 0, cycles.shape[0] - 1)[None], axis=0)[0]
    return arrivals, academic.available_gpus(t_start, params.academic, draws.partnership, u_cycle,
                                             draws.first_cycle_applied)


class OwnedStep(NamedTuple):
    """The owned fleet in this step, after lease returns, deliveries and failures, (S, N) each."""

    fleet: Fleet  # deliveries booked (installed, order slots, resale weight); repairs as drawn
    capex: jax.Array  # paid for GPUs bought and delivered this step
    delivered: jax.Array  # GPUs delivered this step (bought and leased)
    lease: jax.Array  # lease payments of this step
    up: jax.Array  # GPUs up this step
    failed: jax.Array  # GPUs that failed this step
    failed_share: jax.Array  # share of the up GPUs that failed
    offered: jax.Array  # GPUs the owned pool offers: up, less the spares held back


def _fleet_step(inputs: EngineInputs, params: Params, fl: Fleet, u: dict, t_start: jax.Array,
                dt: float) -> OwnedStep:
    """Lease returns and deliveries of the order slots (:func:`simulator.engine.procurement.step_orders`), then
    failures and repairs of the owned GPUs.

    Every up GPU (spares included: they are powered) can fail; the pool offers ``installed - max(down,
    min(spares, installed)) = min(up, max(installed - spares, 0))`` GPUs, so failures are covered by the spares
    before the pool offers fewer than its ``gpus``.
    """
    st = inputs.strategies
    # Only strategies with an owned slot can have GPUs (expansions need owned utilisation): elsewhere all zero.
    owned_rows = rows_with(inputs.layout, fl.installed.shape[0], (OWNED,))
    zero = jnp.zeros_like(fl.installed)
    got = procurement.Deliveries(fl.orders, zero, zero, zero, zero, zero) if not owned_rows else \
        procurement.step_orders(fl.orders, t_start, dt, st.lease, st.lease_term_months * DAYS_PER_MONTH)
    installed = fl.installed + got.delivered - got.returned
    down = jnp.minimum(fl.down, installed)
    weight = fl.resale_weight + fleet.resale_weight(got.bought, t_start, params.owned.resale_retention_per_year)
    up_start = installed - down

    def step_failures(down, inst):
        drawn = failures.failure_step(down, inst, params.owned.failure_per_gpu_hour, params.owned.repair_days,
                                      u["owned/failures"], u["owned/repairs"], dt)
        return jnp.moveaxis(jnp.stack(drawn), 0, 1)

    drawn = on_rows(owned_rows, installed.shape[0], step_failures, down, installed)
    failed, down_next = (jnp.zeros_like(installed), down) if drawn is None else (drawn[:, 0], drawn[:, 2])
    fl = fl._replace(installed=installed, down=down_next, orders=got.orders, resale_weight=weight)
    up = up_start - failed
    offered = jnp.minimum(up, jnp.maximum(installed - st.spares, 0.0))
    lease = procurement.lease_cost(params, got.lease_value, dt) if inputs.leases else zero
    return OwnedStep(fl, capex=got.capex, delivered=got.delivered, lease=lease, up=up, failed=failed,
                     failed_share=failed / jnp.maximum(up_start, 1.0), offered=offered)


class Routed(NamedTuple):
    """Where the step's work went: runs, the backlogs left, and what the pools were used for."""

    runs: RunState
    light: jax.Array  # (S, N) light GPU-hours still waiting
    heavy: jax.Array  # (S, N) heavy GPU-hours still waiting
    usage: Usage


def _route(inputs: EngineInputs, params: Params, state: State, terms: PoolTerms, ctx: StepContext, u: dict,
           arrivals: jax.Array) -> Routed:
    """Runs first, then the light and heavy backlogs, through every strategy's pools."""
    st, always = inputs.strategies, ctx.always
    n_slots, n_kinds = st.kind.shape[1], state.interruptions.shape[1]
    present = kinds_present(inputs.layout, n_kinds)  # the counts of other kinds stay as they are (zero)
    usage = Usage(free=[terms.capacity[:, p] for p in range(n_slots)],
                  wall=[jnp.zeros_like(state.light) for _ in range(n_slots)],
                  interruptions=[state.interruptions[:, k] if k in present else None for k in range(n_kinds)],
                  migration_usd=jnp.zeros_like(state.light), queue_gpu_hour_days=jnp.zeros_like(state.light))
    u_runs = [u[f"runs/{name}"] for name in inputs.run_names]
    runs, usage = route_runs(state.runs, usage, terms, ctx, inputs.runs, st.serves_runs, st.deadline_aware, u_runs,
                             migration_costs(params), _spot_obtained(inputs, params, u),
                             SpotPolicy(st.spot_policy, st.changeover_hours, tuple(params.run_gpu_hours)))
    runs, usage = materialise((runs, usage), always)
    light_share = params.workload.light_fraction
    light, usage = route_backlog(state.light + arrivals * light_share, st.serves_light, usage, terms, ctx,
                                 _slot_uniforms(st.kind, u, "light"))
    light, usage = materialise((light, usage), always)
    heavy, usage = route_backlog(state.heavy + arrivals * (1.0 - light_share), st.serves_heavy, usage, terms, ctx,
                                 _slot_uniforms(st.kind, u, "heavy"))
    heavy, usage = materialise((heavy, usage), always)
    counts = [state.interruptions[:, k] if c is None else c for k, c in enumerate(usage.interruptions)]
    return Routed(runs, light, heavy, usage._replace(interruptions=jnp.stack(counts, axis=1)))


def _spot_obtained(inputs: EngineInputs, params: Params, u: dict) -> list[jax.Array] | None:
    """Per run, (N,) bool: a request for its ``k = ceil(w / g)`` spot instances at once is granted this step
    (``u < p16^((k - 1) / 15)``, :mod:`~simulator.engine.processes.spot`); None where no strategy has spot."""
    if not all(f"runs/{name}/obtain" in u for name in inputs.run_names):
        return None
    p16, g = params.spot.obtain_16_probability, params.spot.gpus_per_instance
    return [u[f"runs/{name}/obtain"] < spot.obtain_probability(spot.instances_needed(inputs.run_gpus[r], g), p16)
            for r, name in enumerate(inputs.run_names)]


def _slot_uniforms(kind: jax.Array, u: dict, work: str) -> jax.Array:
    """Each slot's uniform for ``work``'s interruptions: its kind's stream ``work/kind`` (kinds with a hazard)."""
    prefix = f"{work}/"
    return by_kind(kind, NO_HAZARD_UNIFORM, **{n.removeprefix(prefix): v for n, v in u.items() if n.startswith(prefix)})


def _accrue(inputs: EngineInputs, params: Params, draws: PathDraws, state: State, owned: OwnedStep,
            terms: PoolTerms, routed: Routed, u: dict, arrivals: jax.Array, ctx: StepContext) -> State:
    """Costs of the step, the owned fleet's month counters, and the shared drivers' next values."""
    st, t_start, dt = inputs.strategies, ctx.t_start, ctx.dt
    hours = HOURS_PER_DAY * dt
    runs, light, heavy, usage = routed
    delivered = owned.delivered
    ledger = record_delivery(state.ledger, owned.capex, t_start)
    spent = FleetStep(owned.fleet.installed, owned.up, owned.capex, delivered, supported_capex(ledger, t_start, dt))
    waited = (light + heavy) * dt + usage.queue_gpu_hour_days
    dataset, copies = dataset_costs(params, inputs, ctx.provider, usage.wall, ledger.copies, t_start, dt)
    extra = dict(delay=params.workload.delay_usd_per_gpu_hour_day * waited, **dataset)
    if inputs.leases:
        extra["lease"] = owned.lease
    if rows_with(inputs.layout, st.kind.shape[0], (RESERVED,)):
        extra["reserved_resale"] = reserved.resale_credit(st, params, draws.market, usage.free, state.log_index, state.shortage, hours)
    cash_step, notebook_units = step_costs(st, params, terms, usage, spent, state.notebook_units, dt,
                                           draws.partnership, extra, state.commitments.usd_per_hour * hours, inputs.layout)
    discount = (1.0 + inputs.discount_rate_per_year) ** (-(t_start + 0.5 * dt) / DAYS_PER_YEAR)
    busy_owned = sum_by_kind(usage.wall, st.kind, OWNED, inputs.layout)  # one owned slot: exact
    fl = owned.fleet._replace(busy_month=owned.fleet.busy_month + busy_owned,
                              up_month=owned.fleet.up_month + owned.offered * hours)
    p_lose, p_regain = spot.transition_probabilities(regime.spot_unavailable_fraction(state.shortage, params),
                                                     params.spot.unavailable_spell_days, dt)
    p_enter, p_exit = regime.transition_probabilities(params.regime.shortage_fraction,
                                                      params.regime.shortage_spell_months, dt)
    w, m = params.workload, params.market
    return State(
        log_demand=workload.log_demand_step(state.log_demand, w.growth_multiplier_per_year, w.volatility_per_year,
                                            ndtri(u["workload/demand"]), dt / DAYS_PER_YEAR),
        log_index=market.log_index_step(state.log_index, m.drift_per_year, m.volatility_per_year,
                                        ndtri(u["market/index"]), dt / DAYS_PER_YEAR),
        spot_available=spot.availability_step(state.spot_available, u["spot/availability"], p_lose, p_regain),
        shortage=regime.shortage_step(state.shortage, u["market/regime"], p_enter, p_exit),
        shortage_months=state.shortage_months + jnp.where(state.shortage, dt / DAYS_PER_MONTH, 0.0),
        fleet=fl, light=light, heavy=heavy, runs=runs, notebook_units=notebook_units,
        ledger=ledger._replace(copies=copies), commitments=state.commitments, pv=state.pv + cash_step * discount, cash=state.cash + cash_step,
        peak_cash=state.peak_cash, cash_need=state.cash_need,
        waited=state.waited + waited,
        demand_gpu_hours=state.demand_gpu_hours + arrivals,
        failures=state.failures + owned.failed, interruptions=usage.interruptions,
    )


def month_end(inputs: EngineInputs, params: Params, grid: Grid, draws: PathDraws, state: State,
              m: jax.Array) -> State:
    """Owned sales and orders (:mod:`simulator.engine.procurement`: expansion on sustained utilisation, schedule,
    base stock; capped by the capex budget); the support cohorts roll; reserved commitments are signed, renewed or
    exited (:func:`simulator.engine.reserved.roll`, exit fees paid now); the peak cumulative cash is updated
    (:mod:`simulator.engine.cash`; sale credits included); reset monthly counters."""
    st, fl, dtype = inputs.strategies, state.fleet, state.light.dtype
    now = (m + 1).astype(dtype) * grid.steps_per_month * grid.dt_days
    utilisation = fl.busy_month / jnp.maximum(fl.up_month, UP_HOURS_FLOOR)
    fl, sold_share, credit = procurement.sale(params, st, fl, utilisation, state.log_index, now, m)
    price = procurement.quoted_price(params, st, state.log_index, state.shortage)  # the owned GPU type's, (S, N)
    fl, gpus = procurement.month_orders(inputs, params, fl, state.log_demand, price, utilisation, m)
    u_lead = counter_uniforms(draws.expansion_keys, m, dtype)
    lead_days = DAYS_PER_WEEK * inputs.priors["owned.lead_time_weeks"].ppf(u_lead) \
        * regime.lead_time_factor(state.shortage, params)
    fl = procurement.order(fl, st, gpus, now + lead_days, price)
    fl = fl._replace(busy_month=jnp.zeros_like(fl.busy_month), up_month=jnp.zeros_like(fl.up_month))
    commitments, exit_fees = reserved.roll(st, params, state.commitments, state.log_index, state.shortage, m)
    fees = reserved.one_off(st, params, exit_fees, state.cash)
    fees = fees.at[:, CATEGORY_INDEX["residual"]].add(credit)
    discount = (1.0 + inputs.discount_rate_per_year) ** (-now / DAYS_PER_YEAR)
    peak_cash, cash_need = track_cash(state.peak_cash, state.cash_need, state.cash + fees, (m + 1).astype(dtype),
                                      inputs.funding_month)
    ledger = roll_month(shrink(state.ledger, 1.0 - sold_share), m)
    return state._replace(fleet=fl, notebook_units=jnp.zeros_like(state.notebook_units), ledger=ledger,
                          commitments=commitments, cash=state.cash + fees, pv=state.pv + fees * discount,
                          peak_cash=peak_cash, cash_need=cash_need)
