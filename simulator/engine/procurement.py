"""Procurement of the owned fleet as a policy: the order book (a small ring of order slots), deliveries and lease
returns every step, and the month-end rules that order, lease and sell GPUs. Every knob is a strategy leaf
(:class:`~simulator.engine.strategies.StrategyTable`), so a sweep varies it without recompiling.

Notes
-----
*Order slots.* A strategy holds ``K`` order slots (static: ``engine.max_pending_orders`` when a strategy of the run
uses a procurement policy, else 1; :attr:`~simulator.engine.inputs.EngineInputs.order_slots`). Each slot holds an
order's GPUs ``n_k`` (0: free), its delivery day ``d_k`` and its quoted price per GPU ``P_k``. A bought order frees
its slot at delivery; a leased one holds it until the GPUs go back (``held``), its day then the return day. A new
order takes the first free slot; with none free its GPUs *wait* (``Fleet.waiting``) and are ordered again, at the
then-current price and a fresh lead time, at the next month end. A strategy places at most one order per month end
(all its rules' GPUs together), with the month's lead-time draw ``L_m`` (stream ``owned/expansion_lead_time``,
``owned.lead_time_weeks`` at ``u_m``, times the regime's ``m_lead``) and the price ``P = a P_0 M_t^beta m_hw``.

*Each step* (not compiled when no strategy has an owned pool, from the static layout): a held lease with ``t + dt/2 >= d_k`` returns its
``n_k`` GPUs (they leave the fleet); an order with ``t >= d_k`` is delivered (bought: capex ``n_k P_k`` paid now;
leased: held until ``t_a + 365.25/12 x term``, ``t_a`` the delivery step's start). Each held lease pays
``lease = LRF P_k n_k dt / (365.25 / 12)`` (``LRF = owned.lease_rate_factor_per_month``): ``LRF P_k n_k`` a month
for exactly ``term`` months. A lease pays no capex, support or resale; fabric, build-out, power, facility and staff
as bought GPUs. Payments past the horizon are not counted (like rentals).

*Month-end rules* (at the end of month ``m``, day ``t = (m + 1) 365.25 / 12``; none after a ``sell_month``):

* expansion (:func:`~simulator.engine.processes.fleet.expansion_due`): ``n_exp`` GPUs after ``months_above`` busy
  months, nothing pending or waiting;
* schedule: ``sum_i [k_i = m + 1] g_i`` GPUs (an order at month ``k`` is placed on day ``k x 365.25 / 12``;
  month 0 at t=0 with the pool's ``gpus``, :func:`initial_order`);
* base stock: forecast ``F = r_m / 24 / f_own x g_50^{L_50 / 365.25}`` owned GPUs, ``r_m`` the steady demand rate
  at the month's end (GPU-hours a day), ``f_own`` the owned GPU type's throughput, ``g_50`` and ``L_50`` the prior
  medians of ``workload.growth_multiplier_per_year`` and of the lead time (days); target ``T = c F``
  (``coverage``); with position ``X = installed + pending + waiting + this month's other orders - spares``, order
  ``ceil((T - X) / q - 0.001) q`` (``q = tranche_gpus``; the 0.001 of a tranche, :data:`TRANCHE_TOLERANCE`,
  absorbs the float32 rounding of ``r = exp(log r)``) when ``c > 0``, ``T >= trigger_gpus`` and ``T > X``;
* the sum ``n`` (waiting GPUs included), bought, is capped by the capex budget ``min(n, floor((B - committed) / P))``
  (:func:`~simulator.engine.processes.fleet.affordable`); leases are not capped;
* sales (bought fleets): at ``m = sell_month`` the whole fleet, pending and waiting orders cancelled; after
  ``months_below`` consecutive months with ``installed > 0`` and utilisation below ``sell_below_utilisation``, one
  tranche ``min(q, up)`` of up GPUs. A sale of a share ``s`` of the installed GPUs credits
  ``-(1 - f) a P_0 M_t^beta rho^{t / 365.25} s w`` to ``residual`` (the horizon's resale price,
  :mod:`~simulator.engine.processes.fleet`) and scales the resale weight ``w``, the support base and the support
  cohorts by ``1 - s`` (:func:`~simulator.engine.ownership.shrink`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine._constants import (
    DAYS_PER_MONTH,
    DAYS_PER_WEEK,
    DAYS_PER_YEAR,
    DIVISOR_FLOOR,
    HOURS_PER_DAY,
)
from simulator.engine.kinds import OWNED
from simulator.engine.processes import fleet, market, regime
from simulator.engine.strategies import StrategyTable

TRANCHE_TOLERANCE = 1e-3  # a target above a whole tranche by less than this share of one buys no extra tranche


class Orders(NamedTuple):
    """The order slots, each field a tuple of ``K`` (S, N) arrays (per-slot lists, see :mod:`~simulator.engine._xla`)."""

    gpus: tuple[jax.Array, ...]  # GPUs of the order (0: the slot is free)
    day: tuple[jax.Array, ...]  # delivery day while pending; return day of a held lease
    price: tuple[jax.Array, ...]  # quoted price per GPU
    held: tuple[jax.Array, ...]  # bool: a delivered lease, held until its return day


class Fleet(NamedTuple):
    installed: jax.Array  # (S,) owned GPUs delivered (leased ones included)
    down: jax.Array  # (S,) of which down for repair
    orders: Orders  # pending orders and held leases
    waiting: jax.Array  # (S,) GPUs ordered while every slot was taken: ordered again at the next month end
    committed_usd: jax.Array  # (S,) capex committed (for the budget)
    resale_weight: jax.Array  # (S,) sum over bought cohorts of n_c rho^{-d_c / 365.25}
    busy_month: jax.Array  # (S,) owned busy GPU-hours this month
    up_month: jax.Array  # (S,) GPU-hours the owned pool offered this month (spares held back excluded)
    months_above: jax.Array  # (S,) consecutive months above the expansion threshold
    months_below: jax.Array  # (S,) consecutive months below the sale threshold


def empty_orders(n_slots: int, zeros: jax.Array) -> Orders:
    """``n_slots`` free slots."""
    free = tuple(zeros for _ in range(n_slots))
    return Orders(free, free, free, tuple(jnp.zeros(zeros.shape, bool) for _ in range(n_slots)))


def pending(orders: Orders) -> jax.Array:
    """GPUs ordered, not yet delivered, (S, N)."""
    total = jnp.where(orders.held[0], 0.0, orders.gpus[0])
    for gpus, held in zip(orders.gpus[1:], orders.held[1:], strict=True):
        total = total + jnp.where(held, 0.0, gpus)
    return total


def place(orders: Orders, gpus: jax.Array, day: jax.Array, price: jax.Array) -> tuple[Orders, jax.Array]:
    """Put an order of ``gpus`` (> 0 where placed) in the first free slot; returns the slots and the GPUs that found
    none (they wait)."""
    left = gpus
    slots = [list(field) for field in orders]
    for k in range(len(orders.gpus)):
        take = (left > 0.0) & (orders.gpus[k] <= 0.0) & ~orders.held[k]
        slots[0][k] = jnp.where(take, left, orders.gpus[k])
        slots[1][k] = jnp.where(take, day, orders.day[k])
        slots[2][k] = jnp.where(take, price, orders.price[k])
        left = jnp.where(take, 0.0, left)
    return Orders(*(tuple(s) for s in slots)), left


class Deliveries(NamedTuple):
    """What the order slots did in a step, (S, N) each."""

    orders: Orders
    delivered: jax.Array  # GPUs delivered (bought and leased)
    bought: jax.Array  # of which bought
    capex: jax.Array  # paid for the bought ones
    returned: jax.Array  # leased GPUs returned
    lease_value: jax.Array  # sum of P_k n_k over held leases (after this step's returns and deliveries)


def step_orders(orders: Orders, t_start: jax.Array, dt: float, lease: jax.Array, term_days: jax.Array) -> Deliveries:
    """Lease returns and deliveries of a step (see the module notes); ``lease`` (S, 1) bool, ``term_days`` (S, 1)."""
    zero = jnp.zeros_like(orders.gpus[0])
    delivered, bought, capex, returned, value = zero, zero, zero, zero, zero
    slots = [list(field) for field in orders]
    for k, (n, day, price, held) in enumerate(zip(*orders, strict=True)):
        back = held & (t_start + 0.5 * dt >= day)
        arrive = (n > 0.0) & ~held & (t_start >= day)
        got = jnp.where(arrive, n, 0.0)
        delivered, returned = delivered + got, returned + jnp.where(back, n, 0.0)
        kept = jnp.where(arrive & ~lease, n, 0.0)
        bought, capex = bought + kept, capex + kept * price
        now_held = jnp.where(arrive, lease, held & ~back)
        slots[0][k] = jnp.where((arrive & ~lease) | back, 0.0, n)
        slots[1][k] = jnp.where(arrive & lease, t_start + term_days, day)
        slots[3][k] = now_held
        value = value + jnp.where(now_held, n * price, 0.0)
    return Deliveries(Orders(*(tuple(s) for s in slots)), delivered, bought, capex, returned, value)


def quoted_price(params, st: StrategyTable, log_index: jax.Array, shortage: jax.Array) -> jax.Array:
    """The owned GPU type's price now, ``a P_0 M_t^beta m_hw``, (S, N)."""
    return market.loaded_price(params.market.hardware_usd_per_gpu, log_index, params.market.loading_hardware) \
        * st.owned_purchase_ratio * regime.hardware_factor(shortage, params)


def scheduled(st: StrategyTable, month: int | jax.Array) -> jax.Array:
    """GPUs the schedule orders on day ``month x 365.25 / 12``, (S, 1)."""
    return jnp.sum(jnp.where(st.schedule_months == month, st.schedule_gpus, 0.0), axis=1)


def base_stock(inputs, st: StrategyTable, log_demand: jax.Array, position: jax.Array) -> jax.Array:
    """GPUs the base-stock rule orders, (S, N): ``ceil((T - X) / q - 0.001) q`` when ``c > 0``, ``T >= trigger`` and
    ``T > X``, with ``T = c r / 24 / f_own g_50^{L_50 / 365.25}`` (see the module notes)."""
    half = jnp.asarray(0.5, log_demand.dtype)
    growth = inputs.priors["workload.growth_multiplier_per_year"].ppf(half)
    lead_days = DAYS_PER_WEEK * inputs.priors["owned.lead_time_weeks"].ppf(half)
    f_own = jnp.sum(jnp.where(st.kind == OWNED, st.throughput, 0.0), axis=1)
    forecast = jnp.exp(log_demand) / HOURS_PER_DAY / jnp.maximum(f_own, DIVISOR_FLOOR) \
        * growth ** (lead_days / DAYS_PER_YEAR)
    target = st.coverage * forecast
    gap = jnp.ceil((target - position) / st.tranche_gpus - TRANCHE_TOLERANCE) * st.tranche_gpus
    return jnp.where((st.coverage > 0.0) & (target >= st.trigger_gpus) & (target > position), gap, 0.0)


def initial_order(st: StrategyTable, price: jax.Array) -> jax.Array:
    """GPUs ordered at t=0: the owned pool's ``gpus`` and spares plus the schedule's month 0, bought ones capped by
    the capex budget."""
    wanted = st.owned_ordered + scheduled(st, 0)
    return jnp.where(st.lease, wanted, fleet.affordable(wanted, price, st.capex_budget_usd))


def month_orders(inputs, params, fl: Fleet, log_demand: jax.Array, price: jax.Array, utilisation: jax.Array,
                 m: jax.Array) -> tuple[Fleet, jax.Array]:
    """The month end's rules (expansion, schedule, base stock, waiting GPUs), summed and capped by the budget;
    returns the fleet with the months-above count and the waiting GPUs cleared, and the GPUs to order (S, N)."""
    st = inputs.strategies
    in_pending = pending(fl.orders) + fl.waiting
    months_above, expand = fleet.expansion_due(utilisation, fl.months_above, st.expansion_threshold,
                                               st.expansion_months, in_pending, st.expansion_gpus)
    others = jnp.where(expand, st.expansion_gpus, 0.0) + scheduled(st, m + 1)
    position = fl.installed + in_pending + others - st.spares
    wanted = others + base_stock(inputs, st, log_demand, position) + fl.waiting
    wanted = jnp.where(m < st.sell_month, wanted, 0.0)
    gpus = jnp.where(st.lease, wanted, fleet.affordable(wanted, price, st.capex_budget_usd - fl.committed_usd))
    return fl._replace(months_above=months_above, waiting=jnp.zeros_like(fl.waiting)), gpus


def order(fl: Fleet, st: StrategyTable, gpus: jax.Array, day: jax.Array, price: jax.Array) -> Fleet:
    """Place an order of ``gpus`` delivered on ``day`` at ``price`` (the GPUs without a free slot wait); bought
    ones are committed against the budget."""
    orders, left = place(fl.orders, gpus, day, price)
    committed = jnp.where(st.lease, 0.0, gpus - left) * price
    return fl._replace(orders=orders, waiting=fl.waiting + left, committed_usd=fl.committed_usd + committed)


def sale(params, st: StrategyTable, fl: Fleet, utilisation: jax.Array, log_index: jax.Array, now: jax.Array,
         m: jax.Array) -> tuple[Fleet, jax.Array, jax.Array]:
    """Sales at the end of month ``m`` (see the module notes); returns the fleet, the share ``s`` of the installed
    GPUs sold (S, N) and the credit (negative, cash at ``now``)."""
    below = (fl.installed > 0.0) & (utilisation < st.sell_below_utilisation)
    months_below = jnp.where(below, fl.months_below + 1.0, 0.0)
    tranche = (months_below >= st.months_below) & (st.sell_below_utilisation > 0.0)
    whole = m == st.sell_month
    sold = jnp.where(whole, fl.installed,
                     jnp.where(tranche, jnp.minimum(st.tranche_gpus, fl.installed - fl.down), 0.0))
    share = jnp.where(whole, 1.0, sold / jnp.maximum(fl.installed, 1.0))
    value = market.loaded_price(params.market.hardware_usd_per_gpu, log_index, params.market.loading_hardware) \
        * st.owned_purchase_ratio * fleet.retained(params.owned.resale_retention_per_year, now) * fl.resale_weight
    credit = -(1.0 - params.owned.resale_fee_share) * share * value
    cancel = lambda x: jnp.where(whole, 0.0, x)  # noqa: E731
    orders = fl.orders._replace(gpus=tuple(cancel(n) for n in fl.orders.gpus))
    fl = fl._replace(installed=fl.installed - sold, down=jnp.where(whole, 0.0, fl.down), orders=orders,
                     waiting=cancel(fl.waiting), resale_weight=fl.resale_weight * (1.0 - share),
                     months_below=jnp.where(tranche, 0.0, months_below))
    return fl, share, credit


def lease_cost(params, lease_value: jax.Array, dt: float) -> jax.Array:
    """A step's lease payments ``LRF sum_k P_k n_k dt / (365.25 / 12)`` over the held leases, (S, N)."""
    return params.owned.lease_rate_factor_per_month * lease_value * dt / DAYS_PER_MONTH
