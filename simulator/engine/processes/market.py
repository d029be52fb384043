"""Market: one GPU price index shared by on-demand, spot and hardware prices through loadings.

Notes
-----
The index ``M`` is a geometric Brownian motion with a per-path drift ``mu`` (negative on average: GPU-hours get
cheaper) and volatility ``sigma``, stepped exactly::

    ln M_{t+dt} = ln M_t + (mu - sigma^2 / 2) dt + sigma sqrt(dt) Z,   M_0 = 1

so ``E[M_t] = e^{mu t}`` and ``Var[M_t] = e^{2 mu t} (e^{sigma^2 t} - 1)``. Each price is
``P_i(t) = P_i(0) * M_t ** beta_i`` with loading ``beta_i``: on-demand and spot rents usually load 1, hardware less.
The spot price is ``(1 - discount) * P_on_demand(0) * M_t ** beta_spot``.

*float32 guard.* ``ln M`` and ``beta ln M`` are kept within ``+-LOG_INDEX_LIMIT`` (20: a price moving by a factor
of 5e8 either way), which only a drift or volatility of several units a year over a decade reaches; beyond it
``exp`` would overflow float32 (e^88.7) and turn costs into inf and NaN.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

LOG_INDEX_LIMIT = 20.0


def log_index_step(
    log_index: jax.Array,
    drift_per_year: jax.Array,
    volatility_per_year: jax.Array,
    z: jax.Array,
    dt_years: float,
) -> jax.Array:
    """One exact GBM step of the log price index (kept within ``+-LOG_INDEX_LIMIT``, see the module notes)."""
    step = (
        log_index
        + (drift_per_year - 0.5 * volatility_per_year**2) * dt_years
        + volatility_per_year * jnp.sqrt(dt_years) * z
    )
    return jnp.clip(step, -LOG_INDEX_LIMIT, LOG_INDEX_LIMIT)


def loaded_price(base_price: jax.Array, log_index: jax.Array, loading: jax.Array) -> jax.Array:
    """``base_price * M ** loading`` (the exponent kept within ``+-LOG_INDEX_LIMIT``)."""
    return base_price * jnp.exp(jnp.clip(loading * log_index, -LOG_INDEX_LIMIT, LOG_INDEX_LIMIT))
