"""Academic compute centre: partnership, annual allocation competition, opportunistic access, queues, walltime.

Notes
-----
Per path: a partnership is obtained with probability ``p_partner``; access (opportunistic or allocated) starts after
an administrative lead time ``L_admin`` days. Allocations follow an annual cycle: cycle ``k`` starts on day
``d_k = d_0 + 365.25 k``, its application closes ``a`` days earlier, and a path is eligible if ``L_admin <= d_k - a``,
or, for the first cycle ``k = 0`` only, if the application is already in (``applied``: drawn once per path with
probability ``academic.first_cycle_applied``, a named stream like the partnership); the allocation still starts
only after the admin lead, so with ``applied`` it starts at ``max(d_0, L_admin)`` if funded.
An eligible application is funded with probability ``p_accept``, drawn independently per cycle (one uniform per
cycle, shared by every strategy). The GPUs a strategy can use at day ``t``::

    G(t) = 1[partner] 1[t >= L_admin] (G_opp + 1[cycle k(t) funded] G_alloc f_usable)

with ``G_opp`` the default opportunistic GPUs, ``G_alloc`` the allocation in GPU-years per year and ``f_usable`` the
share fair-share scheduling lets one use. Each job waits ``Q`` days in the queue (steady work: ``Q`` is added to the
delay of every GPU-hour served). Jobs are killed at the walltime ``W``; a long run resubmits, so its useful fraction
is ``W / (W + 24 Q + R)`` (``R`` the restart time). The price is near zero; a partnership may cost a yearly fee.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_YEAR, HOURS_PER_DAY

if TYPE_CHECKING:
    from simulator.engine.params import AcademicParams


def cycle_index(t_day: jax.Array, first_allocation_day: jax.Array) -> jax.Array:
    """Index of the allocation cycle in force at ``t_day`` (-1 before the first one)."""
    return jnp.floor((t_day - first_allocation_day) / DAYS_PER_YEAR).astype(jnp.int32)


def available_gpus(t_day: jax.Array, academic: AcademicParams, partnership: jax.Array,
                   u_cycle: jax.Array, first_cycle_applied: jax.Array | bool = False) -> jax.Array:
    """GPUs the centre offers at ``t_day`` (formula in the module docstring); ``u_cycle`` decides the cycle and
    ``first_cycle_applied`` (bool per path) makes cycle 0 eligible whatever the application lead."""
    k = cycle_index(t_day, academic.first_allocation_day)
    cycle_start = academic.first_allocation_day + DAYS_PER_YEAR * k
    in_time = academic.admin_lead_days <= cycle_start - academic.application_lead_days
    eligible = (k >= 0) & (in_time | ((k == 0) & first_cycle_applied))
    funded = eligible & (u_cycle < academic.acceptance_probability)
    allocated = jnp.where(funded, academic.allocation_gpus * academic.usable_fraction, 0.0)
    open_ = partnership & (t_day >= academic.admin_lead_days)
    return jnp.where(open_, academic.opportunistic_gpus + allocated, 0.0)


def resubmission_efficiency(walltime_hours: jax.Array, queue_wait_days: jax.Array,
                            restart_hours: jax.Array) -> jax.Array:
    """Useful fraction of a long run that is killed at the walltime and queues again: ``W / (W + 24 Q + R)``."""
    return walltime_hours / (walltime_hours + HOURS_PER_DAY * queue_wait_days + restart_hours)
