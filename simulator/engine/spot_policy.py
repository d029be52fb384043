"""Slack-aware spot policies of training runs with deadlines: each step a run stays, waits or moves.

After Wu et al., "Can't Be Late: Optimizing Spot Instance Savings under Deadlines" (NSDI 2024): a run of ``C0``
GPU-hours (reference, useful), started at day ``s`` with deadline ``D`` (``R0 = D - s``), may use interruptible
pools (spot, marketplace, notebook: the kinds table's ``interruptible``) when they have room for it, or pools paid
by the GPU-hour used that are not interruptible (*paid on use*: on-demand, academic; owned and reserved capacity
costs the same used or not, so a run never waits instead of using it); on-demand costs ``k`` times spot. A run
*waits* in a step when it uses nothing (its slot becomes ``STALLED``); every move between slots, and every resume
after a wait, loses the *changeover* ``d`` hours on all ``w`` GPUs.

*Changeover.* ``d`` is the strategy's ``changeover_hours``; unset (the default), it is the move loss routing already
charges, ``(tau + C) / 2 + R`` (half a checkpoint cycle of work since the last checkpoint plus the restart prior
``workload.restart_hours``), so the default changes nothing. A move or resume loses ``w d`` wall GPU-hours (an
interruption still loses ``w ((tau + C) / 2 + R)``).

*Slack* (days, at full speed ``v = 24 w e f`` useful GPU-hours a day on a pool that is not interrupted, ``e =
tau / (tau + C)``, ``f`` the throughput of the run's slot, after one more changeover)::

    slack = D - t - (remaining / (w e f) + d) / 24

Every policy has the *safety net* of :mod:`simulator.engine.routing`: in the first step where ``0 <= slack < dt``
the run is *switched* and prefers pools that are not interruptible for the rest of the horizon (``fallback`` only
with ``deadline_aware``; the other policies always).

Policies (``spot_policy``, per strategy):

``fallback`` (today's behaviour): the first pool with room, in priority order (on-demand as soon as spot is away);
never waits.

``wait_while_slack`` (the paper's greedy with waiting): interruptible pools whenever they have room; otherwise the
run waits (paid-on-use pools are not offered) while ``slack >= dt`` (one more idle step leaves ``slack >= 0``); once
the slack is gone it is switched: it runs on a pool that is not interruptible and *stays* (the paper's greedy),
except that it returns to an interruptible pool with room when the round trip is certain to fit: no interruptible
slot of the strategy has an interruption hazard (``lambda / g + lambda_j = 0``) and ``slack >= d / 24`` (the move
back costs ``d``; the move to on-demand if the pool goes away again is the ``d`` the slack already holds). With
``d = 0`` and no interruptions that is: spot whenever it is available, else on-demand, and the run pays
``k C0 - (k - 1) min(C0, A)`` in spot units, ``A`` the spot-available time in ``[s, D]`` (the paper's ``d = 0``
optimum; to a step: a run that used on-demand finishes less than ``dt`` before ``D`` and may leave that much spot
unused). With a hazard, returning would spend the slack on reclaims, and the run would finish late (measured on
``scenario=hybrid``: P(late) 0.16 -> 0.35), so it stays.

``uniform_progress``: progress ``P = C0 - remaining`` is kept on the uniform line ``L(t) = C0 clip((t - s) / R0,
0, 1)``: interruptible pools whenever they have room; a paid-on-use pool only when the run would end the step
behind the line, ``P < L(t + dt)``, or (*hysteresis*) when it ran on a paid-on-use pool in the previous step and is
not yet ahead of the line of the step after next by one changeover of work, ``P < L(t + 2 dt) + w d e f`` (a run
that leaves on-demand can wait at least a whole step before it must come back, and so does not pay a changeover
every other step); otherwise it waits while ``slack >= dt``. Switched runs return to interruptible pools as under
``wait_while_slack``. With on-demand always available and no interruptions the run ends every step on or above the
line (a step at full speed does ``24 w e f dt >= C0 dt / R0`` whenever the run can meet its deadline at all) and
never misses it.

A run with ``slack < 0`` (no pool can make the deadline) never waits.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simulator.config.schema import SPOT_POLICIES
from simulator.engine._constants import DIVISOR_FLOOR, HOURS_PER_DAY
from simulator.engine.kinds import OWNED, RESERVED

FALLBACK, WAIT_WHILE_SLACK, UNIFORM_PROGRESS = (SPOT_POLICIES.index(n) for n in
                                                ("fallback", "wait_while_slack", "uniform_progress"))


class SpotPolicy(NamedTuple):
    """A step's spot policy inputs: per strategy (S, 1) and the runs' sizes."""

    code: jax.Array  # (S, 1) policy code, index in ``SPOT_POLICIES``
    changeover_hours: jax.Array  # (S, 1) ``d``; negative: the move loss ``(tau + C)/2 + R``
    run_size: tuple[jax.Array, ...]  # R x (N,) ``C0`` of every run


class RunView(NamedTuple):
    """One run in one step, (S, N) unless noted."""

    size: jax.Array | None  # (N,) C0 (None: no policy)
    start: jax.Array  # () start day s
    deadline: jax.Array  # () deadline day D
    remaining: jax.Array  # useful GPU-hours left
    slack: jax.Array  # days (see the module docstring)
    switched: jax.Array  # bool, after this step's safety net
    active: jax.Array  # bool
    prev: jax.Array  # int, RunState.slot
    work_per_hour: jax.Array  # useful GPU-hours per wall hour at full speed, w e f


def changeover(policy: SpotPolicy, loss_hours: jax.Array) -> jax.Array:
    """``d`` (S, N): the strategy's ``changeover_hours``, or the move loss ``loss_hours`` where it is unset."""
    return jnp.where(policy.changeover_hours < 0.0, loss_hours, policy.changeover_hours)


def move_weight(policy: SpotPolicy, loss_hours: jax.Array) -> jax.Array:
    """A move's loss in units of ``loss_hours``, ``d / loss``: exactly 1 where ``changeover_hours`` is unset."""
    d = policy.changeover_hours
    return jnp.where(d < 0.0, 1.0, d / jnp.maximum(loss_hours, DIVISOR_FLOOR))


def aware(policy: SpotPolicy, deadline_aware: jax.Array) -> jax.Array:
    """Whether the safety net applies, (S, 1): ``deadline_aware``, or any policy other than ``fallback``."""
    return deadline_aware | (policy.code != FALLBACK)


def paid_on_use(kind: jax.Array, interruptible: list[jax.Array]) -> list[jax.Array]:
    """Per slot (S, 1): not interruptible and paid by the GPU-hour used (not owned, not reserved)."""
    return [~i & (kind[:, p] != OWNED) & (kind[:, p] != RESERVED) for p, i in enumerate(interruptible)]


class StepPolicy(NamedTuple):
    """What every run of a step shares (see :func:`step_terms`)."""

    policy: SpotPolicy
    d: jax.Array  # (S, N) changeover hours
    move_weight: jax.Array  # (S, N) ``d / loss``
    aware: jax.Array  # (S, 1) the safety net applies
    paid: list[jax.Array]  # per slot (S, 1): paid on use
    sure: jax.Array  # (S, N) no interruptible slot has an interruption hazard


def step_terms(policy: SpotPolicy | None, loss_hours: jax.Array, deadline_aware: jax.Array, kind: jax.Array,
               interruptible: list[jax.Array], hazard: list[jax.Array]) -> StepPolicy:
    """The policy (None: :data:`FALLBACK_POLICY`) and what its runs share in a step; ``hazard`` per slot (S, N) is
    the interruptions per wall GPU-hour of a one-GPU run."""
    policy = FALLBACK_POLICY if policy is None else policy
    sure = functools.reduce(jnp.logical_and, [~i | (h <= 0.0) for i, h in zip(interruptible, hazard, strict=True)])
    return StepPolicy(policy, changeover(policy, loss_hours), move_weight(policy, loss_hours),
                      aware(policy, deadline_aware), paid_on_use(kind, interruptible), sure)


def apply(step: StepPolicy, run: RunView, t_start: jax.Array, dt: float,
          offered: list[jax.Array]) -> tuple[list[jax.Array], jax.Array]:
    """The slots offered to the run (paid-on-use ones withheld while it waits) and whether it prefers pools that are
    not interruptible (switched, and not going back); ``fallback`` (or no run sizes) leaves both as they are."""
    if run.size is None:
        return offered, run.switched
    wait, back = decide(step, run, t_start, dt)
    return [o & ~(wait & q) for o, q in zip(offered, step.paid, strict=True)], run.switched & ~back


def decide(step: StepPolicy, run: RunView, t_start: jax.Array, dt: float) -> tuple[jax.Array, jax.Array]:
    """``(wait, back)``, (S, N) bool: the run is not offered paid-on-use pools this step (it waits unless an
    interruptible pool has room), and a switched run may take an interruptible pool first (see the module
    docstring)."""
    code, d = step.policy.code, step.d
    size, span = run.size, jnp.maximum(run.deadline - run.start, DIVISOR_FLOOR)
    line = lambda t: size * jnp.clip((t - run.start) / span, 0.0, 1.0)  # noqa: E731
    progress = size - run.remaining
    last_paid = functools.reduce(jnp.logical_or, [(run.prev == p) & q for p, q in enumerate(step.paid)])
    behind = progress < line(t_start + dt)
    hold = last_paid & (progress < line(t_start + 2.0 * dt) + d * run.work_per_hour)
    may_wait = jnp.where(code == WAIT_WHILE_SLACK, True, (code == UNIFORM_PROGRESS) & ~behind & ~hold)
    wait = may_wait & run.active & ~run.switched & (run.slack >= dt)
    back = run.switched & (code != FALLBACK) & step.sure & (run.slack >= d / HOURS_PER_DAY)
    return wait, back


FALLBACK_POLICY = SpotPolicy(np.full((1, 1), FALLBACK, np.int32), np.full((1, 1), -1.0, np.float32), ())
"""``fallback`` with the default changeover, for routing without a policy."""
