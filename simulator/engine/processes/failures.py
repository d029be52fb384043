"""Hardware failure and repair of owned GPUs; owned capacity is what is up.

Notes
-----
Each up GPU fails at hazard ``lambda_f`` per GPU-hour (all causes that stop a job); a failed GPU is repaired after an
exponential time of mean ``T_r`` days. Per step of ``dt`` days, with ``U`` GPUs up and ``D`` down at its start::

    F ~ Poisson(lambda_f * 24 dt * U)  (capped at U),     repaired ~ min(D, Poisson(D dt / T_r))

``D_{next} = D + F - repaired``. Over a horizon ``T`` with instant repairs the failure count of ``N`` GPUs is
``Poisson(N lambda_f T)`` (the series-system law: a job needing ``N`` GPUs is stopped by any of them, at rate
``N lambda_f``). With one GPU down the repair draw is exact (``P(repair) = 1 - e^{-dt/T_r}``); with more it is a
Poisson approximation to the binomial. GPUs that fail in a step are out for that step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simulator.engine._constants import HOURS_PER_DAY

from .sampling import poisson_from_uniform


def failure_step(
    down: jax.Array,
    installed: jax.Array,
    failure_per_gpu_hour: jax.Array,
    repair_days: jax.Array,
    u_fail: jax.Array,
    u_repair: jax.Array,
    dt_days: float,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Return ``(failures, repaired, down_next)`` for one step."""
    up = installed - down
    failures = jnp.minimum(up, poisson_from_uniform(u_fail, failure_per_gpu_hour * HOURS_PER_DAY * dt_days * up))
    repaired = jnp.minimum(down, poisson_from_uniform(u_repair, down * dt_days / repair_days))
    return failures, repaired, down + failures - repaired
