"""The full cost of owning GPUs and of holding the dataset: support, fabric, build-out, the facility's committed
power, storage of the dataset where it lives and of its copies, and the egress that makes and grows the copies.

Notes
-----
Per step of ``dt`` days starting at ``t``, per strategy, with ``n_t`` owned GPUs delivered this step (installed
after the step's deliveries minus before), ``I_t`` installed, ``k`` kW per GPU (``owned.kw_per_gpu`` times the owned
GPU type's ``power_ratio``):

* support: ``s * K_t * dt / 365.25``, ``s = owned.support_share_per_year`` and ``K_t`` the purchase price (capex) of
  the owned GPUs delivered at least 365.25 days before ``t`` (the first year is in the price);
* fabric: ``F * n_t`` at delivery (``F = owned.fabric_usd_per_gpu``, nominal: not loaded on the price index);
* build-out: ``b * k * n_t`` at delivery (``b = hosting.buildout_usd_per_kw``: on-prem's prior, colocation's 0);
* facility: ``max(I_t k, kW_min) * rate * dt / month + fixed * dt / month`` while ``I_t > 0`` (from the first
  delivery on; ``kW_min = hosting.min_commit_kw``, colocation's commitment, 0 on-prem);
* storage: the dataset ``D_t = D_0 g^{t / 365.25}`` TB (``storage.dataset_tb``, ``storage.growth_multiplier_per_year``)
  is kept at its home provider ``h`` (``data.home``) and copied to every other provider ``q`` the strategy has run
  work on (any wall GPU-hours on a slot of ``q``, from the step of the first on): ``D_t (c_h + sum_q c_q) dt / month``
  with ``c_q = storage.{class}_usd_per_tb_month``, a catalogue provider's class its ``type`` (cloud, marketplace);
* data: the home provider's egress ``e_h`` (``providers.h.egress_usd_per_tb`` for a catalogue provider, 0 for
  onprem, academic and notebook) on ``D_t`` for each copy made this step, and on the growth ``D_{t+dt} - D_t`` of
  every copy held (the new one included): a copy made at ``t_0`` pays ``e_h D_T`` in all by the horizon ``T``.

*Support cohorts.* Orders are placed at t=0 and at month ends, and several may be pending
(:mod:`simulator.engine.procurement`), so a strategy may receive several deliveries in a month. The capex delivered
in month ``m`` is summed, and its day is the capex-weighted mean delivery day ``d_m = sum_i K_i d_i / sum_i K_i``;
both are kept in slot ``m mod 12`` of a 12-month ring: during month ``m`` that slot holds month ``m - 12``'s
deliveries, which turn one year old within month ``m`` (a year is exactly 12 months of 365.25/12 days), so they are
counted from the first step with ``t >= d_m + 365.25``; at the end of month ``m`` they move into ``support_base``
(``K`` of the older cohorts) and the slot takes month ``m``'s deliveries. With one delivery a month (every strategy
without a procurement policy) this is exact. With several, support is linear in the start day, so the cash paid
is exact (to a step's rounding) when the cohort turns one year old more than a month before the horizon; otherwise
(and in present value) the error is at most ``s K_m / 12`` (a month's support on the month's capex). A sale of a
share ``x`` of the fleet scales the base, the ring and the month's capex by ``1 - x`` (:func:`shrink`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_MONTH, DAYS_PER_YEAR
from simulator.engine.inputs import EngineInputs
from simulator.engine.kinds import EMPTY
from simulator.engine.params import HostingParams, Params
from simulator.engine.pools import egress_by_provider

COHORT_MONTHS = 12  # a year of months: the support ring's length


class Ledger(NamedTuple):
    """The accounting state of owning and holding data, (S, N) each unless noted."""

    support_base: jax.Array  # capex of owned GPUs more than a year old (cohorts moved at month ends)
    cohort_capex: jax.Array  # (S, 12, N) capex delivered in the month of each slot (``m mod 12``)
    cohort_day: jax.Array  # (S, 12, N) its delivery day
    month_capex: jax.Array  # capex delivered this month
    month_capex_day: jax.Array  # sum of capex x delivery day this month (the cohort's day: over month_capex)
    copies: tuple[jax.Array, ...]  # per provider id, (S, N) bool: holds a copy of the dataset (home excluded)


def init_ledger(n_strategies: int, n_paths: int, dtype, n_providers: int) -> Ledger:
    """Nothing delivered, no copies (``n_providers``: the size of the provider universe)."""
    zeros = jnp.zeros((n_strategies, n_paths), dtype)
    ring = jnp.zeros((n_strategies, COHORT_MONTHS, n_paths), dtype)
    return Ledger(zeros, ring, ring, zeros, zeros,
                  tuple(jnp.zeros((n_strategies, n_paths), bool) for _ in range(n_providers)))


def month_of(t_start: jax.Array, dt: float) -> jax.Array:
    """Index of the month a step starting at ``t_start`` lies in (robust to rounding: the step's midpoint)."""
    return jnp.floor((t_start + 0.5 * dt) / DAYS_PER_MONTH).astype(jnp.int32)


def record_delivery(ledger: Ledger, capex: jax.Array, t_start: jax.Array) -> Ledger:
    """Book this step's delivered capex into the month's cohort."""
    return ledger._replace(month_capex=ledger.month_capex + capex, month_capex_day=ledger.month_capex_day + capex * t_start)


def supported_capex(ledger: Ledger, t_start: jax.Array, dt: float) -> jax.Array:
    """``K_t``: capex of the owned GPUs delivered at least a year before ``t_start`` (see the module notes)."""
    slot = month_of(t_start, dt) % COHORT_MONTHS
    capex = jax.lax.dynamic_index_in_dim(ledger.cohort_capex, slot, axis=1, keepdims=False)
    day = jax.lax.dynamic_index_in_dim(ledger.cohort_day, slot, axis=1, keepdims=False)
    return ledger.support_base + jnp.where(t_start + 0.5 * dt >= day + DAYS_PER_YEAR, capex, 0.0)


def roll_month(ledger: Ledger, m: jax.Array) -> Ledger:
    """At the end of month ``m``: month ``m - 12``'s cohort joins the base, month ``m``'s takes its slot."""
    slot = m % COHORT_MONTHS
    matured = jax.lax.dynamic_index_in_dim(ledger.cohort_capex, slot, axis=1, keepdims=False)
    put = lambda ring, x: jax.lax.dynamic_update_index_in_dim(ring, x, slot, axis=1)  # noqa: E731
    return ledger._replace(support_base=ledger.support_base + matured,
                           cohort_capex=put(ledger.cohort_capex, ledger.month_capex),
                           cohort_day=put(ledger.cohort_day, ledger.month_capex_day
                                          / jnp.where(ledger.month_capex > 0.0, ledger.month_capex, 1.0)),
                           month_capex=jnp.zeros_like(ledger.month_capex),
                           month_capex_day=jnp.zeros_like(ledger.month_capex_day))


def shrink(ledger: Ledger, keep: jax.Array) -> Ledger:
    """The support base, the cohorts and the month's capex scaled by ``keep = 1 - share sold`` (S, N)."""
    return ledger._replace(support_base=ledger.support_base * keep, cohort_capex=ledger.cohort_capex * keep[:, None],
                           month_capex=ledger.month_capex * keep, month_capex_day=ledger.month_capex_day * keep)


def owning_costs(params: Params, host: HostingParams, installed: jax.Array, delivered: jax.Array,
                 supported: jax.Array, dt: float, power_ratio: jax.Array | float = 1.0) -> dict[str, jax.Array]:
    """Support, fabric, build-out and facility of a step, (S, N) each (see the module notes); ``power_ratio``
    (S, 1): the owned GPU type's power per GPU over ``owned.kw_per_gpu``."""
    kw = params.owned.kw_per_gpu * power_ratio
    facility = jnp.maximum(installed * kw, host.min_commit_kw) * host.facility_usd_per_kw_month \
        + host.fixed_usd_per_month
    return dict(support=params.owned.support_share_per_year * supported * dt / DAYS_PER_YEAR,
                fabric=params.owned.fabric_usd_per_gpu * delivered,
                buildout=host.buildout_usd_per_kw * kw * delivered,
                facility=jnp.where(installed > 0.0, facility * dt / DAYS_PER_MONTH, 0.0))


def dataset_tb(params: Params, t: jax.Array) -> jax.Array:
    """``D_t = D_0 g^{t / 365.25}`` TB."""
    return params.storage.dataset_tb * params.storage.growth_multiplier_per_year ** (t / DAYS_PER_YEAR)


def used_providers(inputs: EngineInputs) -> tuple[int, ...]:
    """Provider ids any slot can use (from the static provider layout; all of them if it is unknown)."""
    if not inputs.slot_providers:
        return tuple(range(len(inputs.providers)))
    return tuple(sorted({q for row in inputs.slot_providers for q in row if q != EMPTY}))


def dataset_costs(params: Params, inputs: EngineInputs, provider: jax.Array, wall: list[jax.Array],
                  copies: tuple[jax.Array, ...], t_start: jax.Array, dt: float):
    """Storage and egress of the dataset in a step, (S, N) each, and the copies held after it.

    ``inputs.home_provider`` () is the home's provider id; ``provider`` (S, P, 1) each slot's provider id; ``wall``
    the step's wall GPU-hours per slot (list of (S, N)); ``copies`` per provider id (S, N) bool.
    """
    home = inputs.home_provider
    # (N,) each, by the provider's storage class; a class without a storage prior stores for free
    price = [getattr(params.storage, f"{cls}_usd_per_tb_month", 0.0) for cls in inputs.provider_storage]
    d_now, d_next = dataset_tb(params, t_start), dataset_tb(params, t_start + dt)
    held, new = list(copies), jnp.zeros_like(wall[0])
    home_price = sum(jnp.where(home == q, price[q], 0.0) for q in range(len(price)))
    per_tb_month, n_copies = jnp.broadcast_to(home_price, wall[0].shape), jnp.zeros_like(wall[0])
    for q in used_providers(inputs):
        ran = jnp.zeros(wall[0].shape, bool)
        for p, w in enumerate(wall):
            ran = ran | ((w > 0.0) & (provider[:, p] == q))
        now = (copies[q] | ran) & (home != q)
        new = new + jnp.where(now & ~copies[q], 1.0, 0.0)
        n_copies = n_copies + jnp.where(now, 1.0, 0.0)
        per_tb_month = per_tb_month + jnp.where(now, price[q], 0.0)
        held[q] = now
    egress = egress_by_provider(home, params.provider_egress_usd_per_tb)
    storage = d_now * per_tb_month * dt / DAYS_PER_MONTH
    data = egress * (d_now * new + (d_next - d_now) * n_copies)
    return dict(storage=storage, data=data), tuple(held)
