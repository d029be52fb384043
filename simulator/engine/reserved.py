"""Reserved (committed) capacity: take-or-pay commitments, renewals, early exits, resale of idle hours, capacity blocks.

Notes
-----
A ``reserved`` pool commits ``G`` GPUs (its ``gpus``) for terms of ``T`` months (``term_months``) from month ``s``
(``start_month``); months are whole, month ``m`` covering ``[m, m + 1)`` months of the horizon (a month is
365.25/12 days, ``H = 24 x 365.25/12`` hours). Its capacity (:func:`simulator.engine.pools.reserved_active`) is ``G``
while the commitment is active, ``s <= m < e``, with ``e = min(x, s + T)``, or ``e = x`` with ``renew`` (``x`` the
``exit_month``, inf if none), and 0 otherwise; it serves like a reliable pool at a usage price of 0.

*Price locked at signing.* A commitment is signed at ``s`` and, with ``renew``, again at ``s + k T`` (``k = 1, 2,
...``, before any exit); each signing locks ``c = (1 - d(T)) P_od(t)`` for the term, with ``P_od(t)`` the on-demand
price at that month (:func:`simulator.engine.pools.on_demand_price`) and the discount by term

    d(T) = max(0, d_1 + (d_3 - d_1) min(ln(T / 12) / ln 3, 1))

(``d_1 = reserved.discount_1y``, ``d_3 = reserved.discount_3y``): ``d(12) = d_1``, ``d(36) = d_3``, log-linear in
the term in between, ``d_3`` beyond 36 months, and below 12 months the same line floored at 0 (with the default
priors, 6 months: 0.27; 3 months: 0.17; 1 month: 0). The locked price of every slot is state (:class:`Commitments`), changed only
at month ends (:func:`roll`), when the month's take-or-pay rate ``sum_p G_p c_p`` over the active commitments is set.

*Costs* (category ``reserved``; every reserved charge is rental spend on public cloud: it also pays the cloud
support share, ``cloud_ops``, and under ``policy: compliance`` the compliance markup):

* take-or-pay, every step while active, used or not: ``G x 24 dt x c``;
* early exit at month ``x`` (capacity stops there): once, ``f G (E - x) H c``, ``f = exit_fee_share``, ``E`` the end
  of the term running at ``x`` (``s + T ceil((x - s) / T)``); exiting at a term's end (with ``renew``) costs 0;
* capacity block (``block``): a booked window ``s <= m < s + T`` at ``c_b = (1 - d_b) P_od(0)``
  (``d_b = reserved.block_discount``), all paid at t=0: ``G T H c_b`` (cash and present value at t=0); no exit, no
  renewal (validation refuses them);
* resale of idle hours (``resell_idle``): the committed GPU-hours of the step left idle after routing, ``I = free x
  24 dt``, are sold at the spot-like price, a credit (category ``reserved_resale``, negative)
  ``-I (1 - d_q) P_od(t) phi (1 - f_r)`` (``d_q`` the provider's spot discount), ``phi = reserved.resale_fill_fraction``,
  ``f_r = reserved.resale_fee_share``.

A commitment that runs past the horizon is charged up to the horizon only (like a rental; owned GPUs get their
resale value instead); a block is paid whole at t=0.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_MONTH, HOURS_PER_DAY
from simulator.engine._xla import ordered_sum
from simulator.engine.kinds import RESERVED
from simulator.engine.params import Params
from simulator.engine.pools import SlotMarket, on_demand_price, reserved_active
from simulator.engine.strategies import CATEGORY_INDEX, StrategyTable

HOURS_PER_MONTH = HOURS_PER_DAY * DAYS_PER_MONTH
MONTHS_1Y, TERM_RATIO_3Y = 12.0, 3.0  # d(T) is anchored at 12 and 36 months


class Commitments(NamedTuple):
    """The commitments of every slot: prices locked at signing and this month's take-or-pay rate."""

    price: jax.Array  # (S, P, N) USD per GPU-hour locked at the last signing (0: not signed yet)
    usd_per_hour: jax.Array  # (S, N) take-or-pay this month: sum of G c over the active (non-block) commitments


def discount(term_months: jax.Array, d_1y: jax.Array, d_3y: jax.Array) -> jax.Array:
    """``d(T) = max(0, d_1 + (d_3 - d_1) min(ln(T / 12) / ln 3, 1))`` (see the module notes)."""
    x = jnp.minimum(jnp.log(term_months / MONTHS_1Y) / jnp.log(TERM_RATIO_3Y), 1.0)
    return jnp.maximum(d_1y + (d_3y - d_1y) * x, 0.0)


def _term_price(st: StrategyTable, params: Params, log_index: jax.Array, shortage: jax.Array) -> jax.Array:
    """``(1 - d(T)) P_od(t)`` per slot, (S, P, N) (``P_od`` with the regime's rental factor: a commitment signed in a
    shortage locks the shortage price)."""
    d = discount(st.term_months, params.reserved.discount_1y, params.reserved.discount_3y)
    return (1.0 - d) * on_demand_price(st, params, log_index, shortage)


def _rate(st: StrategyTable, price: jax.Array, month) -> jax.Array:
    """Take-or-pay USD per hour in ``month``: ``sum_p G_p c_p`` over active non-block commitments, (S, N)."""
    on = (st.kind == RESERVED) & ~st.block & reserved_active(st, month)
    return ordered_sum(jnp.where(on, st.gpus * price, 0.0), axis=1)


def init(st: StrategyTable, params: Params, log_index: jax.Array,
         shortage: jax.Array) -> tuple[Commitments, jax.Array]:
    """Commitments at t=0 (those starting now and every block signed) and the blocks' upfront payment, (S, N)."""
    reserved = st.kind == RESERVED
    block_price = (1.0 - params.reserved.block_discount) * on_demand_price(st, params, log_index, shortage)
    price = jnp.where(st.block, block_price, _term_price(st, params, log_index, shortage))
    price = jnp.where(reserved & (st.block | (st.start_month == 0.0)), price, 0.0)
    upfront = ordered_sum(jnp.where(reserved & st.block, st.gpus * st.term_months * HOURS_PER_MONTH * price, 0.0),
                          axis=1)
    return Commitments(price, _rate(st, price, 0)), upfront


def roll(st: StrategyTable, params: Params, c: Commitments, log_index: jax.Array, shortage: jax.Array,
         month: jax.Array) -> tuple[Commitments, jax.Array]:
    """At the end of ``month``: signings (start, renewals) and early exits at ``month + 1``; returns the commitments
    of the next month and the exit fees due now, (S, N)."""
    nxt = jnp.asarray(month + 1, c.price.dtype)
    s, term, x = st.start_month, st.term_months, st.exit_month
    ongoing = (st.kind == RESERVED) & ~st.block
    due = (nxt >= s) & (jnp.mod(nxt - s, term) == 0.0) & ((nxt == s) | st.renew) & (nxt < x)
    price = jnp.where(ongoing & due, _term_price(st, params, log_index, shortage), c.price)
    exiting = ongoing & (nxt == x)
    x = jnp.where(exiting, x, s)  # finite where used
    term_end = s + term * jnp.ceil((x - s) / term)
    left = jnp.where(exiting, st.exit_fee_share * st.gpus * (term_end - x) * HOURS_PER_MONTH, 0.0)
    return Commitments(price, _rate(st, price, nxt)), ordered_sum(left * c.price, axis=1)


def one_off(st: StrategyTable, params: Params, usd: jax.Array, like: jax.Array) -> jax.Array:
    """A reserved charge ``usd`` (S, N) paid at once, by category like ``like`` (S, C, N): ``reserved``, the cloud
    support share (``cloud_ops``) and the compliance markup."""
    out = jnp.zeros_like(like)
    for name, value in charges(st, params, usd).items():
        out = out.at[:, CATEGORY_INDEX[name]].set(value)
    return out


def charges(st: StrategyTable, params: Params, usd: jax.Array) -> dict[str, jax.Array]:
    """What a reserved charge ``usd`` (S, N) books: itself, the cloud support share and the compliance markup."""
    return dict(reserved=usd, cloud_ops=params.operations.cloud_support_share * usd,
                compliance=st.compliance_markup * usd)


def resale_credit(st: StrategyTable, params: Params, slots: SlotMarket, free: list[jax.Array],
                  log_index: jax.Array, shortage: jax.Array, hours: float) -> jax.Array:
    """``-I (1 - d_q) P_od(t) phi (1 - f_r)`` summed over resold slots, ``I`` their idle GPU-hours, ``d_q`` the slot
    provider's spot discount, (S, N)."""
    r = params.reserved
    sell = (1.0 - slots.spot_discount) * on_demand_price(st, params, log_index, shortage, slots) \
        * r.resale_fill_fraction \
        * (1.0 - r.resale_fee_share)
    sell = jnp.broadcast_to(sell, st.kind.shape[:2] + log_index.shape)
    resold = (st.kind == RESERVED) & st.resell_idle
    credit = jnp.zeros_like(free[0])
    for p, idle in enumerate(free):
        credit = credit + jnp.where(resold[:, p], jnp.maximum(idle, 0.0) * hours * sell[:, p], 0.0)
    return -credit
