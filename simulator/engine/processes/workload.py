"""Workload: GPU-hour demand with an uncertain growth rate (log random walk with a per-path drift).

Notes
-----
With ``D_t`` the demand rate in GPU-hours per day, ``g = ln(growth multiplier per year)`` drawn once per path,
``sigma`` the yearly volatility and ``dt`` the step in years::

    ln D_{t+dt} = ln D_t + (g - sigma^2 / 2) dt + sigma sqrt(dt) Z,   Z ~ N(0, 1)

so ``E[D_t | g] = D_0 e^{g t}``: demand grows by the multiplier per year on average. The GPU-hours arriving in a
step are ``D_t * dt_days``. Named training runs (size in GPU-hours, width in GPUs, start and deadline days) are added
by the engine on top of this steady demand.

*float32 guard.* ``ln D`` is capped at ``LOG_DEMAND_LIMIT = ln(1e15)`` GPU-hours per day (4e13 GPUs busy, far beyond
any workload): 10x-a-year growth over decades would otherwise overflow float32 (e^88.7) into inf and NaN backlogs.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

LOG_DEMAND_LIMIT = math.log(1e15)


def log_demand_step(
    log_demand: jax.Array,
    growth_multiplier_per_year: jax.Array,
    volatility_per_year: jax.Array,
    z: jax.Array,
    dt_years: float,
) -> jax.Array:
    """One exact step of the log random walk of demand (formula in the module docstring)."""
    drift = jnp.log(growth_multiplier_per_year) - 0.5 * volatility_per_year**2
    return jnp.minimum(log_demand + drift * dt_years + volatility_per_year * jnp.sqrt(dt_years) * z,
                       LOG_DEMAND_LIMIT)
