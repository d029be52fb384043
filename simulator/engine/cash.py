"""Cash and runway: the largest cumulative cash a strategy needs, over the horizon and before the next raise.

Notes
-----
With ``C_k`` the cumulative undiscounted spend of a path after ``k`` whole months (``k = 0`` at t=0: capacity blocks
paid upfront), the sum of the spend categories of ``cash`` (:data:`simulator.engine.strategies.SPEND_CATEGORIES`:
every payment, the resale credits of idle reserved hours and of GPUs sold during the horizon included; the shortfall,
which is not paid out, and the resale of the fleet at the horizon, which comes after the last month, excluded):

* ``peak_cash = max_{0 <= k <= M} C_k`` (``M`` the horizon in months): the cash the plan needs at its worst;
* ``cash_need = max_{0 <= k <= min(f, M)} C_k`` with ``f = decision.funding_month``: the cash spent before the next
  raise at month ``f`` (``f`` null: ``inf``, the whole horizon). ``P(running out) = P(cash_need > F)`` with
  ``F = decision.funding_usd`` (:mod:`simulator.decision.metrics`).

Spend only grows within a month apart from credits, so month ends bound ``C`` to within one month's spend: a
payment made mid-month counts at that month's end, which is when the month's cash has left.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simulator.engine._xla import ordered_sum
from simulator.engine.strategies import CATEGORY_INDEX, SPEND_CATEGORIES

SPEND_COLUMNS = tuple(CATEGORY_INDEX[name] for name in SPEND_CATEGORIES)


def cumulative_spend(cash: jax.Array) -> jax.Array:
    """``C``: the spend categories of ``cash`` (S, C, N) summed, (S, N), in category order."""
    return ordered_sum(cash[:, jnp.asarray(SPEND_COLUMNS)])


def track(peak: jax.Array, need: jax.Array, cash: jax.Array, months_done: jax.Array,
          funding_month: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(peak_cash, cash_need)`` after ``months_done`` whole months (see the module Notes)."""
    spent = cumulative_spend(cash)
    return jnp.maximum(peak, spent), jnp.where(months_done <= funding_month, jnp.maximum(need, spent), need)
