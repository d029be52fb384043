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
