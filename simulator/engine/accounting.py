"""Costs of a step by category, and the end-of-horizon accounts (resale, run lateness, delay).

Notes
-----
Per step of ``dt`` days (``h = 24 dt`` hours), with ``W_p`` the wall GPU-hours used on slot ``p`` and ``c_p`` its price:

* rentals (on-demand, spot, marketplace, academic usage): ``sum_p W_p c_p`` by kind;
* academic: the partnership fee ``fee * dt / year`` once obtained, for a pool capped above 0 GPUs;
* notebook: ``seats * fee * dt / month`` plus units beyond the monthly allowance:
  ``u_p (max(0, U + W u - I) - max(0, U - I))`` with ``U`` the units used so far this month, ``u`` units per GPU-hour,
  ``I = seats * included units``;
* power of owned GPUs: ``(busy (1 - i) + i * up h) kW PUE $/kWh`` (``i`` the idle power fraction);
* facility: ``installed * kW * rate * dt / month`` plus the hosting's fixed monthly fee while GPUs are installed;
* staff: ``max(min FTE, FTE per 100 GPUs * installed / 100) * salary * dt / year`` while GPUs are installed;
* data: ``sum_p W_p / 1000 * TB per 1000 GPU-h * $/TB_p``; migration as routed; compliance: markup on cloud spend
  plus the yearly fee; capex at delivery;
* residual (at the horizon ``T``): ``-P_0 M_T^beta rho^{T/365.25} w`` (see :mod:`simulator.engine.processes.fleet`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_MONTH, DAYS_PER_YEAR, HOURS_PER_DAY, RESALE_RETENTION_FLOOR
from simulator.engine._xla import ordered_sum
from simulator.engine.kinds import ACADEMIC, KINDS, NOTEBOOK, SPOT, any_of, is_public_cloud
from simulator.engine.params import Params
from simulator.engine.pools import PoolTerms, hosting
from simulator.engine.processes import market, spot
from simulator.engine.routing import Usage
from simulator.engine.strategies import CATEGORY_INDEX, COST_CATEGORIES, StrategyTable


def sum_by_kind(values: list[jax.Array] | jax.Array, kind: jax.Array, code: int) -> jax.Array:
    """Sum of per-slot values (a list of (S, N) arrays, or an (S, P, ...) array) over the (at most one) slot of a
    kind -> (S, N)."""
    if not isinstance(values, list | tuple):
        values = [values[:, p] for p in range(values.shape[1])]
    total = jnp.where(kind[:, 0] == code, values[0], 0.0)
    for p in range(1, len(values)):
        total = total + jnp.where(kind[:, p] == code, values[p], 0.0)
    return total



def usage_spend(spend: list[jax.Array], kind: jax.Array) -> dict[str, jax.Array]:
    """Usage spend (wall GPU-hours x price, per slot) summed by the cost category of each slot's kind, (S, N)."""
    out: dict[str, jax.Array] = {}
    for code, row in enumerate(KINDS.values()):
        paid = sum_by_kind(spend, kind, code)
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


def step_costs(st: StrategyTable, params: Params, terms: PoolTerms, usage: Usage, owned: FleetStep,
               notebook_units: jax.Array, dt: float, partnership: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Cash spent in one step by category, (S, C, N), and the updated notebook units of the month (S, N)."""
    installed, up, capex, hours = owned.installed, owned.up, owned.capex, HOURS_PER_DAY * dt
    spend = [wall * terms.price[:, p] for p, wall in enumerate(usage.wall)]
    host = hosting(st, params)
    energy = params.owned.kw_per_gpu * host.pue * params.market.electricity_usd_per_kwh
    idle = params.owned.idle_power_fraction
    seats = sum_by_kind(st.gpus, st.kind, NOTEBOOK)
    allowance = seats * params.notebook.included_units
    units = notebook_units + sum_by_kind(usage.wall, st.kind, NOTEBOOK) * params.notebook.units_per_gpu_hour
    overage = jnp.maximum(0.0, units - allowance) - jnp.maximum(0.0, notebook_units - allowance)
    has_academic = jnp.any((st.kind == ACADEMIC) & (st.gpus > 0.0), axis=1) & partnership  # a 0-GPU cap: no fee
    owned_here = installed > 0.0
    staff_fte = jnp.maximum(host.min_fte, host.fte_per_100_gpus * installed / 100.0)
    cloud_codes = tuple(c for c, name in enumerate(KINDS) if is_public_cloud(name))
    cloud = functools.reduce(jnp.add, [sum_by_kind(spend, st.kind, c) for c in cloud_codes])
    uses_cloud = jnp.any(any_of(st.kind, cloud_codes), axis=1)
    other = {  # costs beyond usage spend, by category
        "notebook": seats * params.notebook.monthly_fee_usd * dt / DAYS_PER_MONTH
        + overage * params.notebook.usd_per_unit,
        "academic": jnp.where(has_academic, params.academic.partnership_usd_per_year * dt / DAYS_PER_YEAR, 0.0),
        "capex": capex,
        "power": idle * up * hours * energy,
        "facility": installed * params.owned.kw_per_gpu * host.facility_usd_per_kw_month * dt / DAYS_PER_MONTH
        + jnp.where(owned_here, host.fixed_usd_per_month * dt / DAYS_PER_MONTH, 0.0),
        "staff": jnp.where(owned_here, staff_fte * params.operations.staff_usd_per_fte_year * dt / DAYS_PER_YEAR, 0.0),
        "migration": usage.migration_usd,
        "compliance": st.compliance_markup * cloud
        + jnp.where(uses_cloud, st.compliance_usd_per_year * dt / DAYS_PER_YEAR, 0.0),
    }
    rental = usage_spend(spend, st.kind)
    by_category = [_plus(rental.get(name), other.get(name), installed) for name in COST_CATEGORIES]
    return jnp.stack(by_category, axis=1), units


def _plus(a: jax.Array | None, b: jax.Array | None, like: jax.Array) -> jax.Array:
    """``a + b`` where either may be missing (zeros if both are)."""
    if a is None and b is None:
        return jnp.zeros_like(like)
    return b if a is None else a if b is None else a + b


def finalise(inputs, params: Params, horizon: float, state, monthly: dict[str, jax.Array]):
    """Resale credit at the horizon, run finish times and lateness, delay; the engine's per-path outputs."""
    st, fl = inputs.strategies, state.fleet
    rho = jnp.maximum(params.owned.resale_retention_per_year, RESALE_RETENTION_FLOOR)
    price_now = market.loaded_price(params.market.hardware_usd_per_gpu, state.log_index,
                                    params.market.loading_hardware)
    residual = -price_now * rho ** (horizon / DAYS_PER_YEAR) * fl.resale_weight
    discount_end = (1.0 + inputs.discount_rate_per_year) ** (-horizon / DAYS_PER_YEAR)
    column = CATEGORY_INDEX["residual"]
    pv = state.pv.at[:, column].add(residual * discount_end)
    cash = state.cash.at[:, column].add(residual)
    # Unfinished runs: extrapolate at full width without interruptions (an optimistic finish, flagged).
    runs = state.runs
    efficiency = spot.checkpoint_efficiency(st.checkpoint_interval_hours, params.workload.checkpoint_cost_hours)
    full_rate = inputs.run_gpus[None, :, None] * HOURS_PER_DAY * efficiency[:, None, :]  # (S, R, N)
    completed = runs.remaining <= 0.0
    finish = jnp.where(completed, runs.finish_day, horizon + runs.remaining / full_rate)
    lateness = jnp.maximum(0.0, finish - inputs.run_deadline_day[None, :, None])
    delay = state.waited / jnp.maximum(state.demand_gpu_hours, jnp.finfo(pv.dtype).tiny)
    monthly = {k: jnp.moveaxis(v, 0, -2) for k, v in monthly.items()}  # (M, ..., N) -> (..., M, N)
    out = dict(cost=ordered_sum(pv), cost_by_category=pv, cash_by_category=cash, delay=delay, run_finish_day=finish,
               run_lateness_days=lateness, run_completed=completed, final_backlog=state.light + state.heavy,
               owned_failures=state.failures, interruptions_by_kind=state.interruptions,
               spot_interruptions=state.interruptions[:, SPOT],
               owned_gpus_installed=fl.installed, **monthly)
    out = {k: jnp.moveaxis(v, -1, 0) for k, v in out.items()}  # paths first for the host
    return {**out, "parameters": params.to_flat(inputs.run_names)}
