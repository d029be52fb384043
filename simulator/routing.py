"""Routing of work through a strategy's pools in one step: training runs first, then light and heavy backlogs.

Notes
-----
*Runs.* An active run of width ``w`` takes ``w`` GPUs, all on the first pool (in priority order) that serves runs and
has ``w`` GPUs free (a notebook only hosts one-GPU runs). On that pool, in ``h`` wall hours per GPU, ``N`` interruptions
each lose ``(tau + C)/2 + R`` hours on all ``w`` GPUs (:mod:`simulator.processes.spot`); owned GPUs lose work to the
fleet's failures that hit the run's GPUs. Useful GPU-hours are ``max(0, w h - N w loss) * tau/(tau + C) * e_pool``
(``e_pool`` for walltime or session resubmission).

*Deadline-aware fallback.* With ``deadline_aware``, a run leaves interruptible pools for good once its slack is gone:
``slack = deadline - t - remaining / (24 w tau/(tau + C))``; if ``slack < dt`` (one more unproductive step would make
it late) it may only use reliable pools (owned, on-demand) from then on.

*Migration.* A run placed on a provider other than its previous one pays the migration cost plus its checkpoint's
egress from the previous provider.

*Backlogs.* A backlog ``B`` is served pool by pool: wall GPU-hours ``min(free h, B / eff)``; interruptions (Poisson
at the pool's hazard; owned: failures) destroy ``N g loss`` GPU-hours that stay in the backlog. Work served by the
academic centre adds its queue wait to the delay: ``Q * served`` GPU-hour-days.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .pools import PoolTerms, by_provider
from .processes.sampling import poisson_from_uniform
from .strategies import NOTEBOOK, OWNED


class RunState(NamedTuple):
    remaining: jax.Array  # (S, R) GPU-hours of useful work left
    finish_day: jax.Array  # (S, R)
    switched: jax.Array  # (S, R) bool: confined to reliable pools
    provider: jax.Array  # (S, R) last provider (-1: not started)


class Usage(NamedTuple):
    free: jax.Array  # (S, P) GPUs still free this step
    wall: jax.Array  # (S, P) wall GPU-hours used
    interruptions: jax.Array  # (S,)
    migration_usd: jax.Array  # (S,)
    queue_gpu_hour_days: jax.Array  # (S,)


def _events(terms: PoolTerms, wall: jax.Array, owned_events: jax.Array, u: jax.Array) -> jax.Array:
    """Interruptions of ``wall`` GPU-hours on each slot: Poisson at the hazard, or the owned fleet's failures."""
    poisson = poisson_from_uniform(u, terms.hazard * wall / terms.instance_gpus)
    return jnp.where(terms.hazard > 0.0, poisson, 0.0) + owned_events


def route_runs(runs: RunState, usage: Usage, terms: PoolTerms, kind: jax.Array, serves_runs: jax.Array,
               deadline_aware: jax.Array, run_gpus: jax.Array, run_start: jax.Array, run_deadline: jax.Array,
               t_start: jax.Array, dt: float, efficiency: jax.Array, loss_hours: jax.Array,
               failed_share: jax.Array, u_runs: jax.Array, migration_usd: jax.Array, checkpoint_tb: jax.Array,
               provider: jax.Array, egress_usd_per_tb: jax.Array,
               bandwidth_usd_per_tb: jax.Array) -> tuple[RunState, Usage]:
    """Place and advance every active run for one step (see the module docstring).

    Shapes: per-slot arrays (S, P, N), per-strategy (S, N), run state (S, R, N), per-path (N,); paths last.
    """
    remaining, finish, switched, last = runs
    free, wall_used, interruptions, migration, queue = usage
    hours = 24.0 * dt
    for r in range(run_gpus.shape[0]):
        width = run_gpus[r]
        begin = jnp.maximum(t_start, run_start[r])  # a run may start mid-step
        share = jnp.clip((t_start + dt - begin) / dt, 0.0, 1.0)
        active = (share > 0.0) & (remaining[:, r] > 0.0)
        slack = run_deadline[r] - t_start - remaining[:, r] / (24.0 * width * efficiency)
        now_switched = switched[:, r] | (deadline_aware & active & (slack < dt))
        allowed = serves_runs & (terms.reliable | ~now_switched[:, None]) & ((kind != NOTEBOOK) | (width <= 1.0))
        fits = (free >= width) & allowed
        chosen = fits & (jnp.cumsum(fits, axis=1) == 1) & active[:, None]
        running = jnp.any(chosen, axis=1)
        wall = width * hours * share
        pick = lambda x: jnp.sum(jnp.where(chosen, x, 0.0), axis=1)  # noqa: E731  (exact: one slot chosen)
        owned_events = jnp.where(kind == OWNED, failed_share[:, None] * width * share, 0.0)
        events = pick(_events(terms, wall, owned_events, u_runs[r]))
        useful = jnp.maximum(0.0, wall - events * width * loss_hours) * efficiency * pick(terms.run_efficiency)
        useful = jnp.where(running, useful, 0.0)
        done = jnp.minimum(remaining[:, r], useful)
        fraction = jnp.where(useful > 0.0, done / jnp.maximum(useful, 1e-30), 0.0)
        finished_now = running & (done >= remaining[:, r])
        finish = finish.at[:, r].set(jnp.where(finished_now, begin + fraction * share * dt, finish[:, r]))
        remaining = remaining.at[:, r].add(-done)
        free = free - jnp.where(chosen, width * share * fraction[:, None], 0.0)
        wall_used = wall_used + jnp.where(chosen, wall * fraction[:, None], 0.0)
        interruptions = interruptions + jnp.where(running & ~jnp.any(chosen & (kind == OWNED), axis=1), events, 0.0)
        new_provider = jnp.where(running, pick(provider).astype(last.dtype), last[:, r])
        moved = running & (last[:, r] >= 0) & (new_provider != last[:, r])
        egress = by_provider(last[:, r], egress_usd_per_tb, bandwidth_usd_per_tb)
        migration = migration + jnp.where(moved, migration_usd + checkpoint_tb * egress, 0.0)
        switched = switched.at[:, r].set(now_switched)
        last = last.at[:, r].set(new_provider)
    return RunState(remaining, finish, switched, last), Usage(free, wall_used, interruptions, migration, queue)


def route_backlog(backlog: jax.Array, serves: jax.Array, usage: Usage, terms: PoolTerms, kind: jax.Array,
                  dt: float, efficiency: jax.Array, loss_hours: jax.Array, failed_share: jax.Array,
                  u_slots: jax.Array) -> tuple[jax.Array, Usage]:
    """Serve a backlog (S,) through the slots that ``serves`` it, in priority order."""
    free, wall_used, interruptions, migration, queue = usage
    hours = 24.0 * dt
    for p in range(kind.shape[1]):
        wall = jnp.where(serves[:, p], jnp.minimum(free[:, p] * hours, backlog / efficiency), 0.0)
        owned = kind[:, p] == OWNED
        owned_events = jnp.where(owned, failed_share * wall / hours, 0.0)
        slot_terms = PoolTerms(*(x[:, p] for x in terms))
        events = _events(slot_terms, wall, owned_events, u_slots[:, p])
        job_gpus = jnp.where(owned, 1.0, slot_terms.instance_gpus)
        useful = jnp.maximum(0.0, wall - events * job_gpus * loss_hours) * efficiency
        served = jnp.minimum(backlog, useful)
        backlog = backlog - served
        free = free.at[:, p].add(-wall / hours)
        wall_used = wall_used.at[:, p].add(wall)
        interruptions = interruptions + jnp.where(owned, 0.0, events)
        queue = queue + served * slot_terms.queue_days
    return backlog, Usage(free, wall_used, interruptions, migration, queue)
