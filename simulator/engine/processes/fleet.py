"""Owned fleet: procurement lead time, expansions on sustained utilisation, capex budget, resale value.

Notes
-----
*Orders.* At t=0 the strategy orders ``N_0`` GPUs at the quoted price ``P_0`` (the hardware price at the order date);
they are installed after the lead time ``L`` (a prior, drawn per path) and paid at delivery. Purchases are capped by
the capex budget ``B``: an order of ``n`` GPUs at price ``P`` becomes ``min(n, floor((B - committed) / P))``.

*Expansion.* At each month end, utilisation ``u = clip(busy owned GPU-hours / up owned GPU-hours, 0, 1)`` of the
month (busy hours cannot exceed up hours; float32 rounding can make the ratio 1 + 1e-7 on a saturated fleet, hence
the clip). After ``m`` consecutive months with ``u > threshold`` (strictly) and no order pending or waiting, the strategy orders
``n_exp`` more GPUs at the current price ``P_0 M_t^beta``, installed after a fresh lead-time draw. A threshold of 1
therefore never fires.

*Resale.* Each cohort ``c`` of ``n_c`` GPUs delivered on day ``d_c`` is worth ``P_0 M_T^beta rho^{(T - d_c)/365.25}``
per GPU at the horizon ``T`` (``rho`` the yearly retention). Tracking ``w = sum_c n_c rho^{-d_c/365.25}`` gives the
fleet's resale value ``P_0 M_T^beta rho^{T/365.25} w`` without storing cohorts.

*float32 guard.* A cohort's factor ``rho^{-d/365.25}`` is capped at ``e^RESALE_EXPONENT_LIMIT`` (e^60): with a
retention near 0 it would overflow float32 after a few years (``0.000001^{-d/365.25}`` passes e^88.7 at d = 6.4
years) and the credit would become ``0 * inf = NaN``. The cap binds only when ``rho^{d/365.25} < e^-60`` (retention
below 1e-6 a year after 4.3 years, below 0.05 after 20 years): the cohort is then credited less than its value, and
the fleet's value at the horizon is below ``P_0 M_T^beta rho^{(T - d)/365.25}`` per GPU (tiny for such retentions).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_YEAR, DIVISOR_FLOOR, RESALE_RETENTION_FLOOR

RESALE_EXPONENT_LIMIT = 60.0


def affordable(requested: jax.Array, price: jax.Array, budget_left: jax.Array) -> jax.Array:
    """GPUs an order can buy: ``min(requested, floor(budget_left / price))``."""
    can = jnp.floor(budget_left / jnp.maximum(price, DIVISOR_FLOOR))
    return jnp.clip(jnp.minimum(requested, can), 0.0, None)


def resale_weight(gpus: jax.Array, delivery_day: jax.Array, retention_per_year: jax.Array) -> jax.Array:
    """Cohort term ``n rho^{-d/365.25}`` of the resale weight (retention floored to avoid 0^-x; the factor capped
    at ``e^RESALE_EXPONENT_LIMIT``, see the module notes)."""
    rho = jnp.maximum(retention_per_year, RESALE_RETENTION_FLOOR)
    return gpus * jnp.exp(jnp.minimum(-delivery_day / DAYS_PER_YEAR * jnp.log(rho), RESALE_EXPONENT_LIMIT))


def retained(retention_per_year: jax.Array, t: jax.Array) -> jax.Array:
    """``rho^{t / 365.25}`` (retention floored as in :func:`resale_weight`): a fleet of resale weight ``w`` is worth
    ``P_0 M_t^beta rho^{t / 365.25} w`` at ``t``."""
    return jnp.maximum(retention_per_year, RESALE_RETENTION_FLOOR) ** (t / DAYS_PER_YEAR)


def expansion_due(utilisation: jax.Array, months_above: jax.Array, threshold: jax.Array,
                  months_required: jax.Array, pending: jax.Array, expansion_gpus: jax.Array):
    """Update the count of consecutive busy months; return ``(months_above, order_now)``.

    A month counts when ``clip(utilisation, 0, 1) > threshold`` (strictly): utilisation cannot exceed 1, so a
    threshold of 1.0 never fires, whatever rounding does to ``busy / up``.
    """
    months_above = jnp.where(jnp.clip(utilisation, 0.0, 1.0) > threshold, months_above + 1.0, 0.0)
    order = (months_above >= months_required) & (pending <= 0.0) & (expansion_gpus > 0.0)
    return jnp.where(order, 0.0, months_above), order
