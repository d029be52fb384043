"""Spot capacity and interruptions, with checkpoint/restart (Young/Daly).

Notes
-----
*Availability.* Whether spot GPUs can be had is a two-state Markov chain per path, shared by all strategies. With
``f`` the long-run unavailable fraction and ``L`` the mean unavailable spell in days, per step of ``dt`` days::

    p_regain = 1 - exp(-dt / L),     p_lose = min(1, p_regain f / (1 - f))

whose stationary unavailable fraction is ``p_lose / (p_lose + p_regain) = f``.

*Interruptions.* While running, each instance of ``g`` GPUs is reclaimed at hazard ``lambda`` per instance-hour. A
job spanning ``n`` instances for ``h`` hours sees ``N ~ Poisson(lambda n h)`` interruptions; each one loses the work
since the last checkpoint, on average half a checkpoint cycle ``(tau + C) / 2``, plus the restart ``R``, on every GPU
of the job. Of the remaining time a fraction ``tau / (tau + C)`` is useful (the rest writes checkpoints)::

    useful = max(0, h - N ((tau + C) / 2 + R)) * tau / (tau + C)          (per GPU of the job)

so the expected completion time of ``W`` hours of work is ``W (1 + C / tau) / (1 - lambda n ((tau + C)/2 + R))``,
which agrees with Daly's exponential model ``E[T] = (W / tau) e^{lambda n R} (e^{lambda n (tau + C)} - 1) /
(lambda n)`` to first order in ``x = lambda n ((tau + C)/2 + R)`` (relative gap below ``x^2`` for ``x < 0.2``).
Lost work is not lost demand: it stays in the backlog and is recomputed.

*Good and bad pools.* A path's spot pool is *bad* with probability ``b`` (``spot.bad_pool_probability``, one uniform
per path: bad iff ``u < b``), and its reclaim hazard is then ``lambda_bad`` (``spot.bad_reclaim_per_instance_hour``),
else ``lambda`` (``spot.reclaim_per_instance_hour``)::

    E[N] = (b lambda_bad + (1 - b) lambda) n h          (over paths, for a fixed b)

*Obtaining many instances at once.* While spot is available, a request for ``k`` instances at once is granted
with probability ``p(k) = p16^((k - 1) / 15)`` (``p16 = spot.obtain_16_probability``; ``p(1) = 1``, ``p(16) =
p16``): capacity is close to all-or-nothing (PRIORS-2.md 9), so the log-probability falls linearly in the
instances beyond the first. A training run of width ``w`` asks for ``k = ceil(w / g)`` instances when it acquires
spot capacity (first start, move, resume); a run already holding the capacity keeps it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simulator.engine._constants import PROBABILITY_FLOOR


def transition_probabilities(
    unavailable_fraction: jax.Array, unavailable_spell_days: jax.Array, dt_days: float
) -> tuple[jax.Array, jax.Array]:
    """``(p_lose, p_regain)`` per step for the availability chain."""
    p_regain = -jnp.expm1(-dt_days / unavailable_spell_days)
    p_regain = jnp.where(unavailable_fraction >= 1.0, 0.0, p_regain)
    odds = unavailable_fraction / jnp.maximum(1.0 - unavailable_fraction, PROBABILITY_FLOOR)
    p_lose = jnp.where(unavailable_fraction >= 1.0, 1.0, jnp.minimum(1.0, p_regain * odds))
    return p_lose, p_regain


def availability_step(
    available: jax.Array, u: jax.Array, p_lose: jax.Array, p_regain: jax.Array
) -> jax.Array:
    """Next availability state from one uniform ``u``."""
    return jnp.where(available, u >= p_lose, u < p_regain)


def reclaim_hazard(bad_pool: jax.Array, good_hazard: jax.Array, bad_hazard: jax.Array) -> jax.Array:
    """Reclaim hazard per instance-hour of a path's pool: ``lambda_bad`` if it is a bad pool, else ``lambda``."""
    return jnp.where(bad_pool, bad_hazard, good_hazard)


def instances_needed(width: jax.Array | float, gpus_per_instance: jax.Array) -> jax.Array:
    """Instances a job of ``width`` GPUs asks for at once: ``k = ceil(w / g)`` (at least 1)."""
    return jnp.maximum(jnp.ceil(width / gpus_per_instance), 1.0)


def obtain_probability(instances: jax.Array, obtain_16: jax.Array) -> jax.Array:
    """Probability that ``k`` instances are granted at once while spot is available: ``p16^((k - 1) / 15)``."""
    return jnp.power(obtain_16, (instances - 1.0) / 15.0)


def loss_hours_per_interruption(
    checkpoint_interval_hours: jax.Array, checkpoint_cost_hours: jax.Array, restart_hours: jax.Array
) -> jax.Array:
    """Expected hours lost per interruption: ``(tau + C) / 2 + R``."""
    return 0.5 * (checkpoint_interval_hours + checkpoint_cost_hours) + restart_hours


def checkpoint_efficiency(
    checkpoint_interval_hours: jax.Array, checkpoint_cost_hours: jax.Array
) -> jax.Array:
    """Useful fraction of running time, ``tau / (tau + C)``."""
    return checkpoint_interval_hours / (checkpoint_interval_hours + checkpoint_cost_hours)
