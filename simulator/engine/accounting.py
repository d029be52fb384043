"""Costs of a step by category, and the end-of-horizon accounts (resale, shortfall); the engine's outputs.

Notes
-----
Per step of ``dt`` days (``h = 24 dt`` hours), with ``W_p`` the wall GPU-hours used on slot ``p`` and ``c_p`` its price:

* rentals (on-demand, spot, marketplace, academic usage): ``sum_p W_p c_p`` by kind;
* reserved commitments (:mod:`simulator.engine.reserved`): take-or-pay ``G h c`` per active commitment, used or
  not (``c`` the price locked at signing); exit fees at month ends and capacity blocks at t=0 (booked by
  :func:`simulator.engine.step.month_end` and :func:`~simulator.engine.state.init_state`); a resale credit
  ``-I (1 - d_spot) P_od(t) phi (1 - f_r)`` for idle committed hours resold (``reserved_resale``). Every reserved
  charge counts as rented, public-cloud spend (cloud support share, compliance markup);
* academic: the partnership fee ``fee * dt / year`` once obtained, for a pool capped above 0 GPUs;
* notebook: ``seats * fee * dt / month`` plus units beyond the monthly allowance:
  ``u_p (max(0, U + W u c - I) - max(0, U - I))`` with ``U`` the units used so far this month, ``u`` units per
  GPU-hour of an A100 (``notebook.units_per_gpu_hour``), ``c = cu(type) / cu(a100)`` the GPU type's compute-unit
  ratio (``notebook_units_ratio``), ``I = seats * included units``;
* power of owned GPUs: ``(busy (1 - i) + i * up h) k kW PUE $/kWh`` (``i`` the idle power fraction, ``k`` the owned
  GPU type's ``power_ratio``);
* staff: ``max(min FTE, FTE per 100 GPUs * installed / 100) * salary * dt / year`` while GPUs are installed
  (``salary = operations.staff_usd_per_fte_year``);
* cloud_ops, for a strategy with a rented pool (a kind with ``rented`` in :data:`simulator.engine.kinds.KINDS`, with
  GPUs): ``operations.cloud_min_fte * salary * dt / year + operations.cloud_support_share * R_t``, ``R_t`` the step's
  usage spend on rented pools;
* migration as routed; compliance: markup on cloud spend plus the yearly fee; capex at delivery;
* support, fabric, build-out, facility, storage and data: :mod:`simulator.engine.ownership`;
* delay (shortfall): ``v * waited_t`` (:mod:`simulator.engine.shortfall`);
* residual (at the horizon ``T``): ``-(1 - f) a P_0 M_T^beta rho^{T/365.25} w`` (see
  :mod:`simulator.engine.processes.fleet`; ``f = owned.resale_fee_share``, ``a`` the owned GPU type's
  ``purchase_price_ratio``: every order is priced ``a P_0 M_t^beta``);
* shortfall at ``T`` (terminal delay, unserved work, late runs): :mod:`simulator.engine.shortfall`.

Every step cost is booked as cash and at present value ``(1 + r)^{-(t + dt/2) / 365.25}``; the horizon terms at
``(1 + r)^{-T / 365.25}`` (late runs at each run's finish). ``spend`` sums the spend categories, ``shortfall`` the
shortfall categories (:data:`simulator.engine.strategies.SHORTFALL_CATEGORIES`), ``cost = spend + shortfall`` (the
cost of service).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_MONTH, DAYS_PER_YEAR, HOURS_PER_DAY, RESALE_RETENTION_FLOOR
from simulator.engine._xla import Layout, kinds_present, ordered_sum, slot_has
from simulator.engine.kinds import ACADEMIC, KINDS, NOTEBOOK, SPOT, any_of, codes_where, is_public_cloud
from simulator.engine.ownership import owning_costs
from simulator.engine.params import Params
from simulator.engine.pools import PoolTerms, hosting
from simulator.engine.processes import market, spot
from simulator.engine.routing import Usage
from simulator.engine.shortfall import late_run_costs, marginal_throughput, terminal_shortfall
from simulator.engine.strategies import (
    CATEGORY_INDEX,
    COST_CATEGORIES,
    StrategyTable,
)


def sum_by_kind(values: list[jax.Array] | jax.Array, kind: jax.Array, code: int, layout: Layout = None) -> jax.Array:
    """Sum of per-slot values (a list of (S, N) arrays, or an (S, P, ...) array) over the (at most one) slot of a
    kind -> (S, N); with the static ``layout``, only over the slots that some strategy has of that kind (zeros if
    none: the same values, see :mod:`simulator.engine._xla`)."""
    if not isinstance(values, list | tuple):
        values = [values[:, p] for p in range(values.shape[1])]
    slots = [p for p in range(len(values)) if slot_has(layout, p, code)]
    if not slots:
        return jnp.zeros(jnp.broadcast_shapes(kind[:, 0].shape, values[0].shape), values[0].dtype)
    total = jnp.where(kind[:, slots[0]] == code, values[slots[0]], 0.0)
    for p in slots[1:]:
        total = total + jnp.where(kind[:, p] == code, values[p], 0.0)
    return total


def usage_spend(spend: list[jax.Array], kind: jax.Array, layout: Layout = None) -> dict[str, jax.Array]:
    """Usage spend (wall GPU-hours x price, per slot) summed by the cost category of each slot's kind, (S, N)."""
    out: dict[str, jax.Array] = {}
    for code, row in enumerate(KINDS.values()):
        if code not in kinds_present(layout, len(KINDS)):
            continue  # no slot of this kind: no spend (a category without any stays zeros, see step_costs)
        paid = sum_by_kind(spend, kind, code, layout)
        out[row.cost_category] = out[row.cost_category] + paid if row.cost_category in out else paid
    unknown = set(out) - set(COST_CATEGORIES)
    if unknown:
        raise ValueError(f"kinds book spend to unknown cost categories {sorted(unknown)}; add them to COST_CATEGORIES")
    return out


class FleetStep(NamedTuple):
    """The owned fleet as costs see it in a step, (S, N) each."""

    installed: jax.Array  # GPUs installed
    up: jax.Array  # GPUs up
    capex: jax.Array  # paid for GPUs delivered this step
    delivered: jax.Array  # GPUs delivered this step
    supported: jax.Array  # capex of the GPUs delivered at least a year ago (``ownership.supported_capex``)


def step_costs(st: StrategyTable, params: Params, terms: PoolTerms, usage: Usage, owned: FleetStep,
               notebook_units: jax.Array, dt: float, partnership: jax.Array,
               extra: dict[str, jax.Array], committed: jax.Array, layout: Layout = None) -> tuple[jax.Array, jax.Array]:
    """Cash spent in one step by category, (S, C, N), and the updated notebook units of the month (S, N).

    ``extra`` holds categories computed by the caller (storage, data, delay, reserved resale), (S, N) each;
    ``committed`` (S, N) the step's take-or-pay on reserved commitments (:mod:`simulator.engine.reserved`), booked
    to ``reserved`` and counted as rented, public-cloud spend. ``layout``: the static slot kinds (only the kinds
    present are summed, :mod:`simulator.engine._xla`).
    """
    installed, up, hours = owned.installed, owned.up, HOURS_PER_DAY * dt
    spend = [wall * terms.price[:, p] for p, wall in enumerate(usage.wall)]
    host = hosting(st, params)
    energy = params.owned.kw_per_gpu * st.owned_power_ratio * host.pue * params.market.electricity_usd_per_kwh
    idle = params.owned.idle_power_fraction
    seats = sum_by_kind(st.gpus, st.kind, NOTEBOOK, layout)
    allowance = seats * params.notebook.included_units
    notebook_wall = [wall * st.notebook_units_ratio[:, p] for p, wall in enumerate(usage.wall)]  # in A100 hours
    units = notebook_units + sum_by_kind(notebook_wall, st.kind, NOTEBOOK, layout) * params.notebook.units_per_gpu_hour
    overage = jnp.maximum(0.0, units - allowance) - jnp.maximum(0.0, notebook_units - allowance)
    has_academic = jnp.any((st.kind == ACADEMIC) & (st.gpus > 0.0), axis=1) & partnership  # a 0-GPU cap: no fee
    staff_fte = jnp.maximum(host.min_fte, host.fte_per_100_gpus * installed / 100.0)
    salary = params.operations.staff_usd_per_fte_year
    cloud_codes = tuple(c for c, name in enumerate(KINDS) if is_public_cloud(name))
    cloud = functools.reduce(jnp.add, [sum_by_kind(spend, st.kind, c, layout) for c in cloud_codes]) + committed
    uses_cloud = jnp.any(any_of(st.kind, cloud_codes), axis=1)
    rented_codes = codes_where(rented=True)
    rented = functools.reduce(jnp.add, [sum_by_kind(spend, st.kind, c, layout) for c in rented_codes]) + committed
    rents = jnp.any(any_of(st.kind, rented_codes) & (st.gpus > 0.0), axis=1)
    other = {  # costs beyond usage spend, by category
        "notebook": seats * params.notebook.monthly_fee_usd * dt / DAYS_PER_MONTH
        + overage * params.notebook.usd_per_unit,
        "academic": jnp.where(has_academic, params.academic.partnership_usd_per_year * dt / DAYS_PER_YEAR, 0.0),
        "capex": owned.capex,
        "reserved": committed,
        "power": idle * up * hours * energy,
        "staff": jnp.where(installed > 0.0, staff_fte * salary * dt / DAYS_PER_YEAR, 0.0),
        "cloud_ops": jnp.where(rents, params.operations.cloud_min_fte * salary * dt / DAYS_PER_YEAR, 0.0)
        + params.operations.cloud_support_share * rented,
        "migration": usage.migration_usd,
        "compliance": st.compliance_markup * cloud
        + jnp.where(uses_cloud, st.compliance_usd_per_year * dt / DAYS_PER_YEAR, 0.0),
        **owning_costs(params, host, installed, owned.delivered, owned.supported, dt, st.owned_power_ratio),
        **extra,
    }
    rental = usage_spend(spend, st.kind, layout)
    by_category = [_plus(rental.get(name), other.get(name), installed) for name in COST_CATEGORIES]
    return jnp.stack(by_category, axis=1), units


def _plus(a: jax.Array | None, b: jax.Array | None, like: jax.Array) -> jax.Array:
    """``a + b`` where either may be missing (zeros if both are)."""
    if a is None and b is None:
        return jnp.zeros_like(like)
    return b if a is None else a if b is None else a + b


def market_provider(inputs) -> int:
    """Catalogue index of the on-demand kind's default provider (the market's on-demand price), -1 if absent."""
    default = KINDS["on_demand"].provider
    return inputs.catalogue.index(default) if default in inputs.catalogue else -1


def finalise(inputs, params: Params, horizon: float, state, monthly: dict[str, jax.Array]):
    """Resale credit and shortfall at the horizon, run finish times and lateness, delay; the engine's outputs."""
    st, fl, runs = inputs.strategies, state.fleet, state.runs
    rho = jnp.maximum(params.owned.resale_retention_per_year, RESALE_RETENTION_FLOOR)
    price_now = market.loaded_price(params.market.hardware_usd_per_gpu, state.log_index,
                                    params.market.loading_hardware)
    residual = -(1.0 - params.owned.resale_fee_share) * price_now * st.owned_purchase_ratio \
        * rho ** (horizon / DAYS_PER_YEAR) * fl.resale_weight
    # Unfinished runs: extrapolate at full width without interruptions (an optimistic finish, flagged), at the
    # throughput of the marginal rental pool (where the rest would be bought)
    efficiency = spot.checkpoint_efficiency(st.checkpoint_interval_hours, params.workload.checkpoint_cost_hours)
    speed = efficiency * marginal_throughput(st)
    full_rate = inputs.run_gpus[None, :, None] * HOURS_PER_DAY * speed[:, None, :]  # (S, R, N)
    completed = runs.remaining <= 0.0
    finish = jnp.where(completed, runs.finish_day, horizon + runs.remaining / full_rate)
    lateness = jnp.maximum(0.0, finish - inputs.run_deadline_day[None, :, None])
    backlog = state.light + state.heavy
    wait, delay_usd, unserved = terminal_shortfall(st, params, state.log_index, state.shortage, backlog,
                                                   runs.remaining, efficiency, market_provider(inputs))
    late_cash, late_pv = late_run_costs(params, finish, lateness, inputs.run_missed_usd,
                                        inputs.run_missed_after_days, inputs.discount_rate_per_year)
    discount_end = (1.0 + inputs.discount_rate_per_year) ** (-horizon / DAYS_PER_YEAR)
    pv, cash = state.pv, state.cash
    for name, usd, pv_usd in (("residual", residual, residual * discount_end),
                              ("delay", delay_usd, delay_usd * discount_end),
                              ("unserved", unserved, unserved * discount_end), ("late_runs", late_cash, late_pv)):
        pv, cash = pv.at[:, CATEGORY_INDEX[name]].add(pv_usd), cash.at[:, CATEGORY_INDEX[name]].add(usd)
    delay = (state.waited + wait) / jnp.maximum(state.demand_gpu_hours, jnp.finfo(pv.dtype).tiny)
    sizes = jnp.stack(list(params.run_gpu_hours)) if params.run_gpu_hours else jnp.zeros((0,) + backlog.shape[1:], backlog.dtype)
    run_done = jnp.sum(sizes[None] - jnp.maximum(runs.remaining, 0.0), axis=1)
    monthly = {k: jnp.moveaxis(v, 0, -2) for k, v in monthly.items()}  # (M, ..., N) -> (..., M, N)
    # spend and shortfall (and cost again, in float64) are summed from cost_by_category on the host
    # (simulator.engine.host.totals)
    out = dict(cost=ordered_sum(pv), cost_by_category=pv, cash_by_category=cash, delay=delay,
               delivered_gpu_hours=jnp.maximum(state.demand_gpu_hours - backlog, 0.0) + run_done, run_finish_day=finish,
               run_lateness_days=lateness, run_completed=completed, final_backlog=backlog,
               owned_failures=state.failures, interruptions_by_kind=state.interruptions,
               spot_interruptions=state.interruptions[:, SPOT],
               owned_gpus_installed=fl.installed, shortage_months=state.shortage_months,
               peak_cash=state.peak_cash, cash_need=state.cash_need, **monthly)
    out = {k: jnp.moveaxis(v, -1, 0) for k, v in out.items()}  # paths first for the host
    return {**out, "parameters": params.to_flat(inputs.run_names, inputs.catalogue)}
