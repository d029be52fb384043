"""Routing of work through a strategy's pools in one step: training runs first, then light and heavy backlogs.

Notes
-----
*Runs.* An active run of width ``w`` takes ``w`` GPUs, all on the first pool (in priority order) that serves runs and
has ``w`` GPUs free (up to the kind's ``max_job_gpus``: a notebook only hosts one-GPU runs). On that pool, in ``h`` wall hours per GPU, ``N`` interruptions
each lose ``(tau + C)/2 + R`` hours on all ``w`` GPUs (:mod:`simulator.engine.processes.spot`); owned GPUs lose work to the
fleet's failures that hit the run's GPUs. Useful GPU-hours are ``max(0, w h - N w loss) * tau/(tau + C) * e_pool * f``
(``e_pool`` for walltime or session resubmission, ``f`` the throughput of the slot's GPU type: work is counted in
reference (H100 SXM) GPU-hours, and a slot of factor ``f`` does ``f`` of them per wall GPU-hour, see
:mod:`simulator.engine.strategies`).

*Deadline-aware fallback.* With ``deadline_aware``, a run leaves interruptible pools (spot, marketplace, notebook:
the kinds table's ``interruptible``) once its slack is gone. ``slack = deadline - t - (remaining / (w f tau/(tau + C))
+ loss) / 24`` is what is left at full speed on a pool that is not interrupted, after the move itself (``loss`` hours
on all ``w`` GPUs, see *Moves*), with ``f`` the throughput of the slot the run last ran on (before it first runs,
or after a stalled step, the fastest slot that may host it). The run switches, for the rest of the horizon, in
the first step where ``0 <= slack < dt`` (one more unproductive step would make it late); a run with ``slack < 0``
cannot make its deadline even at full speed and stays where it is (switching would only cost more). A switched run
takes the first slot with room for its width among the pools that are not interruptible (owned, on-demand,
academic) and whose expected rate, ``e_pool f (1 - min(lambda w loss / g, 1))`` useful hours per wall GPU-hour, is at
least that of the slot it would take without the policy (an academic pool slowed by its queue and walltime is not a
refuge from a spot pool that rarely loses work); in a step where there is none, it runs on the first slot that would
have taken it without the policy, so the policy never strands a run (with no such pool at all, on and off agree path
by path).

*Spot obtainability.* A run that would *acquire* spot capacity (it was not on that spot slot in the previous step:
first start, move, resume) asks for ``k = ceil(w / g)`` instances at once, granted with probability ``p16^((k - 1)
/ 15)`` (:mod:`simulator.engine.processes.spot`; one uniform per run per step, stream ``runs/NAME/obtain``, shared by
the strategies). If the request fails the spot slot is not offered to the run in that step, which takes the next
slot with room. A run already on the slot keeps it (reclaims are its hazard).

*Moves.* Moving is not free: a run that changes slot (its spot capacity went away, an owned GPU failed so it no
longer fits, the deadline-aware fallback) or resumes after a step in which it could not run loses the work since its
last checkpoint and pays the restart, ``w loss`` GPU-hours of useful work on the slot it starts on (``RunState.slot``
remembers the last slot, or ``STALLED``; ``w d`` with a strategy's ``changeover_hours``, see
:mod:`simulator.engine.spot_policy`, which also decides when a run waits instead). A run that ran on an interruptible kind and finds no room there any more
counts one interruption of that kind (its capacity went away), whether it moves or stalls.

*Job interrupts.* Every slot has the job-interrupt hazard ``lambda_j`` per GPU-hour (term ``job_interrupt``; owned
slots ``max(lambda_j - lambda_hw, 0)``, the hardware-down failures being drawn by the fleet): a run of width ``w``
sees ``N ~ Poisson((lambda / g + lambda_j) w h)`` events on its slot, each losing ``w loss`` GPU-hours, plus the
owned failures that hit its GPUs. Steady work (many one-GPU jobs) loses the *expected* ``lambda_j W loss`` (and, on
owned slots, ``f W loss / h``) instead of a draw: the count of such events over a slot's ``W`` GPU-hours is large
and its relative noise small, a draw would need two more random streams per kind without a hazard and a Poisson
evaluation per slot, and the interruption counts for these (``interruptions_by_kind``) are then expected counts.

*Migration.* A run placed on a provider other than its previous one pays the migration cost plus its checkpoint's
egress from the previous provider.

*Backlogs.* Lost work is redone on the slot that lost it while that slot has room; only what a slot has no capacity
for falls to the next slot (in priority order) in the same step. A slot is offered ``B`` GPU-hours of useful work
and sized for the work *and its expected loss*: with the loss fraction per wall GPU-hour

    ``l = (lambda + lambda_j) loss`` on an interruptible slot (events ``N ~ Poisson(lambda W / g)``, each losing
    ``g loss`` GPU-hours, ``g`` GPUs per instance, plus the expected job interrupts ``lambda_j W``, each losing
    ``loss``), ``l = (q / h + lambda_j) loss`` on an owned slot (``q`` the share of its GPUs that fail this step,
    ``q W / h`` events, ``lambda_j`` the owned slot's extra hazard), ``l = lambda_j loss`` elsewhere,

it is asked for ``need = B / (eff f (1 - min(l, l_max)))`` wall GPU-hours (``f`` the slot's throughput: ``B`` is in
reference GPU-hours), ``l_max = 1/2`` (a slot is sized for at most twice the work offered to it), and runs
``W = min(free h, need)``. Events are drawn on ``W``; with ``L = N g loss + (expected events) loss`` the GPU-hours
lost, ``useful = max(0, W - L) eff f``, ``served = min(B, useful)``, and the wall GPU-hours used (and paid) are
``min(W, served / (eff f) + L)``: what the work needed, including what was lost. The next slot is
offered ``min(B (1 - (W / need) c), B - served)`` with ``c = (1 - min(l, 1)) / (1 - min(l, l_max))``: the part
this slot had no capacity for, and, where ``l > l_max``, the part it is not expected to complete (``c = 1`` when
``l <= l_max``); never more than is left. A slot expected to lose everything (``l >= 1``) is not used (``W = 0``): all
the work goes on to the next slot. Work lost
beyond the expected loss stays in the backlog for the next step, where it goes to the first slot again; with room
to spare, a second slot takes nothing. Work served by the academic centre adds its queue wait to the
delay: ``Q * served`` GPU-hour-days.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine import spot_policy
from simulator.engine._constants import DIVISOR_FLOOR, HOURS_PER_DAY
from simulator.engine._xla import Layout, materialise, on_rows, rows_with, slot_has
from simulator.engine.inputs import RunSpec
from simulator.engine.kinds import KINDS, OWNED, SPOT
from simulator.engine.params import Params
from simulator.engine.pools import PoolTerms, egress_by_provider, interruptible_codes
from simulator.engine.processes.sampling import poisson_from_uniform

NOT_STARTED, STALLED = -1, -2  # ``RunState.slot`` before a run first runs, and after an active step it could not run
MAX_LOSS_FRACTION = 0.5  # a slot is sized for at most twice the work offered to it; it passes on what it would lose
# beyond that (a slot losing more than half its wall time is one a scheduler would not pour hours into)


class RunState(NamedTuple):
    remaining: jax.Array  # (S, R) GPU-hours of useful work left
    finish_day: jax.Array  # (S, R)
    switched: jax.Array  # (S, R) bool: slack gone, prefers pools that are not interruptible
    provider: jax.Array  # (S, R) last provider (-1: not started)
    slot: jax.Array  # (S, R) slot of the last step it was active: NOT_STARTED, STALLED (could not run), or a slot


class StepContext(NamedTuple):
    """What every routing call of a step shares (per-slot (S, P, 1), per-strategy (S, N))."""

    kind: jax.Array  # (S, P, 1) kind code of every slot
    provider: jax.Array  # (S, P, 1) provider id of every slot
    t_start: jax.Array  # () day the step starts
    dt: float  # step length in days
    efficiency: jax.Array  # (S, N) useful fraction of running time, tau / (tau + C)
    loss_hours: jax.Array  # (S, N) hours lost per interruption, (tau + C) / 2 + R
    failed_share: jax.Array  # (S, N) share of the up owned GPUs that fail this step
    throughput: jax.Array  # (S, P, 1) reference GPU-hours per wall GPU-hour of every slot's GPU type
    layout: Layout  # static kind layout (None: unknown)
    always: jax.Array  # true at run time (see :func:`simulator.engine._xla.materialise`)


class MigrationCosts(NamedTuple):
    """What moving a run between providers costs, (N,) each."""

    migration_usd: jax.Array  # engineering cost per move
    checkpoint_tb: jax.Array  # checkpoint size moved
    egress_usd_per_tb: tuple[jax.Array, ...]  # leaving each catalogue provider


def migration_costs(params: Params) -> MigrationCosts:
    """The migration costs of the sampled parameters."""
    return MigrationCosts(params.workload.migration_usd, params.workload.checkpoint_tb,
                          params.provider_egress_usd_per_tb)


class Usage(NamedTuple):
    """What routing used in a step; per-slot quantities are lists of (S, N) arrays, one per slot (see ``_xla``)."""

    free: list[jax.Array]  # P x (S, N) GPUs still free this step
    wall: list[jax.Array]  # P x (S, N) wall GPU-hours used
    interruptions: list[jax.Array | None]  # K x (S, N) events per kind, in kind code order (every kind of ``KINDS``;
    # None: a kind no strategy has, whose count stays as it was)
    migration_usd: jax.Array  # (S,)
    queue_gpu_hour_days: jax.Array  # (S,)


def _interruptions(rows: tuple[int, ...], hazard: jax.Array, rate: jax.Array, u: jax.Array) -> jax.Array | None:
    """Poisson interruptions at ``rate`` (hazard x instance-hours) per strategy (S, N), zero where the hazard is.

    Drawn on the strategies ``rows`` only: elsewhere the slot's kind has no hazard, so the count is zero anyway
    (None when no row can be interrupted). ``u`` is (S, N) or shared (N,).
    """
    u = jnp.broadcast_to(u, hazard.shape)
    draw = lambda h, x, v: jnp.where(h > 0.0, poisson_from_uniform(v, x), 0.0)  # noqa: E731
    return on_rows(rows, hazard.shape[0], draw, hazard, rate, u)


def _book(counts: list[jax.Array | None], events: jax.Array, on_kind) -> list[jax.Array | None]:
    """``counts`` (K x (S, N)) plus ``events`` (S, N) booked to the kind they happened on: ``on_kind(code)`` says
    where (S, N) (or (S, 1)) the work ran on a slot of kind ``code``, None where no slot of that kind can have run it
    (static layout: the count is left as it is). A count that is None (a kind no strategy has) stays None. A list,
    not an (S, K, N) array: stacking per booking is slow on XLA:CPU (see ``_xla``); the step stacks once."""
    out = []
    for k, c in enumerate(counts):
        where = None if c is None else on_kind(k)
        out.append(c if where is None else c + jnp.where(where, events, 0.0))
    return out


def _on_slots(kind: jax.Array, masks: list[jax.Array], layout: Layout = None):
    """``code -> (S, N)``: where one of the per-slot ``masks`` is set on a slot of kind ``code`` (for :func:`_book`);
    None if no strategy has a slot of that kind (static ``layout``)."""
    def on(code):
        hits = [m & (kind[:, p] == code) for p, m in enumerate(masks) if slot_has(layout, p, code)]
        return functools.reduce(jnp.logical_or, hits) if hits else None
    return on


def _first_fit(free: list[jax.Array], width: jax.Array, allowed: list[jax.Array],
               active: jax.Array) -> tuple[list[jax.Array], jax.Array]:
    """The first slot (in priority order) that is ``allowed`` and has ``width`` GPUs free, and whether there is one;
    every per-slot quantity is a list of (S, N) arrays (no stacking or slicing of a slot axis)."""
    chosen, seen = [], jnp.zeros_like(active)
    for f, a in zip(free, allowed, strict=True):
        fits = (f >= width) & a
        chosen.append(fits & ~seen & active)
        seen = seen | fits
    return chosen, seen


def _choose(free: list[jax.Array], width: jax.Array, allowed: list[jax.Array], interruptible: list[jax.Array],
            rate: list[jax.Array], switched: jax.Array, active: jax.Array) -> list[jax.Array]:
    """The slot a run takes: the first fitting slot; for a ``switched`` run, the first fitting slot that is not
    ``interruptible`` and whose expected ``rate`` (useful work per wall GPU-hour) is at least that of the first
    fitting slot, if there is one (see the module docstring). Per-slot lists of (S, N) arrays."""
    plain, _ = _first_fit(free, width, allowed, active)
    plain_rate = functools.reduce(jnp.add, [jnp.where(c, r, 0.0) for c, r in zip(plain, rate, strict=True)])
    safe_allowed = [a & ~i & (r >= plain_rate) for a, i, r in zip(allowed, interruptible, rate, strict=True)]
    safe, found = _first_fit(free, width, safe_allowed, active)
    use_safe = switched & found
    return [jnp.where(use_safe, a, b) for a, b in zip(safe, plain, strict=True)]


def _run_throughput(prev: jax.Array, throughput: jax.Array, allowed: jax.Array) -> jax.Array:
    """``f`` of a run's deadline slack, (S, N): the throughput of the slot ``prev`` it last ran on, else (not started,
    stalled) the largest among the slots it is ``allowed`` on (1 if none). ``throughput``, ``allowed`` (S, P, 1)."""
    slots = range(throughput.shape[1])
    last = functools.reduce(jnp.add, [jnp.where(prev == p, throughput[:, p], 0.0) for p in slots])
    best = functools.reduce(jnp.maximum, [jnp.where(allowed[:, p], throughput[:, p], 0.0) for p in slots])
    return jnp.where(prev >= 0, last, jnp.where(best > 0.0, best, 1.0))


def _restarts(prev: jax.Array, free: list[jax.Array], width: jax.Array, active: jax.Array,
              interruptible: list[jax.Array]) -> list[jax.Array]:
    """Per slot, whether the run ran there last step and now cannot (its capacity went away), on an interruptible
    kind: that counts as one interruption of the kind. ``prev`` is the run's ``RunState.slot`` (S, N)."""
    return [active & (prev == p) & (f < width) & i for p, (f, i) in enumerate(zip(free, interruptible, strict=True))]


def _offered(serves_runs: jax.Array, kind: jax.Array, width: jax.Array, prev: jax.Array,
             obtained: jax.Array | None) -> tuple[jax.Array, list[jax.Array]]:
    """The slots (S, P, 1) a run of ``width`` may use (kinds that host runs up to a width only), and per slot
    (S, N) those offered to it this step: spot only where its request is ``obtained`` or it holds the slot."""
    allowed = serves_runs
    for code, k in enumerate(KINDS.values()):
        if k.max_job_gpus < float("inf"):
            allowed = allowed & ((kind != code) | (width <= k.max_job_gpus))
    offered = [allowed[:, p] if obtained is None else allowed[:, p] & ((kind[:, p] != SPOT) | obtained | (prev == p))
               for p in range(kind.shape[1])]
    return allowed, offered


def route_runs(runs: RunState, usage: Usage, terms: PoolTerms, ctx: StepContext, spec: RunSpec,
               serves_runs: jax.Array, deadline_aware: jax.Array, u_runs: list[jax.Array],
               costs: MigrationCosts, obtained: list[jax.Array] | None = None,
               policy: spot_policy.SpotPolicy | None = None) -> tuple[RunState, Usage]:
    """Place and advance every active run for one step (see the module docstring).

    Shapes: per-slot terms (S, P, N), per-strategy (S, N), run state (S, R, N), per-path (N,); usage per-slot lists
    of (S, N). Interruptions are drawn once, at the hazard of the slot a run runs on; a run that changes slot or
    resumes after a stall loses ``w loss`` more (*move loss*). ``obtained`` (per run, (N,) bool): its spot request
    is granted this step (None: always; see *Spot obtainability*). ``policy``: :mod:`~simulator.engine.spot_policy`.
    """
    kind, t_start, dt, efficiency, loss_hours, failed_share = ctx.kind, ctx.t_start, ctx.dt, ctx.efficiency, \
        ctx.loss_hours, ctx.failed_share
    remaining, finish, switched, last, slot = runs
    free, wall_used, interruptions, migration, queue = usage
    free, wall_used = list(free), list(wall_used)
    hours, always, n_slots = HOURS_PER_DAY * dt, ctx.always, kind.shape[1]
    # interruptions per wall GPU-hour of a 1-GPU job, lambda / g + lambda_j (width w: w times that), once per step
    per_gpu = materialise([terms.hazard[:, p] / terms.instance_gpus[:, p] + terms.job_interrupt[:, p]
                           for p in range(n_slots)], always)
    interruptible = [terms.interruptible[:, p] for p in range(n_slots)]
    # reference GPU-hours per wall GPU-hour without losses: run efficiency (walltime, queue) x throughput
    speed = materialise([terms.run_efficiency[:, p] * ctx.throughput[:, p] for p in range(n_slots)], always)
    sp = spot_policy.step_terms(policy, loss_hours, deadline_aware, kind, interruptible, per_gpu)
    for r in range(spec.gpus.shape[0]):
        width, prev = spec.gpus[r], slot[:, r]
        begin = jnp.maximum(t_start, spec.start_day[r])  # a run may start mid-step
        share = jnp.clip((t_start + dt - begin) / dt, 0.0, 1.0)
        active = (share > 0.0) & (remaining[:, r] > 0.0)
        allowed, offered = _offered(serves_runs, kind, width, prev, None if obtained is None else obtained[r])
        # slack at full speed after one move (the changeover: ``d`` hours on all w GPUs), at the throughput f
        work_rate = width * efficiency * _run_throughput(prev, ctx.throughput, allowed)  # w e f
        slack = spec.deadline_day[r] - t_start - (remaining[:, r] / work_rate + sp.d) / HOURS_PER_DAY
        now_switched = switched[:, r] | (sp.aware & active & (slack >= 0.0) & (slack < dt))
        active, now_switched = materialise((active, now_switched), always)
        # expected useful work per wall GPU-hour on each slot, at the slot's run efficiency (walltime, queue)
        rate = [v * (1.0 - jnp.minimum(h * loss_hours * width, 1.0)) for v, h in zip(speed, per_gpu, strict=True)]
        left = _restarts(prev, free, width, active, interruptible)
        view = spot_policy.RunView(sp.policy.run_size[r] if sp.policy.run_size else None, spec.start_day[r],
                                   spec.deadline_day[r], remaining[:, r], slack, now_switched, active, prev, work_rate)
        offered, prefer_safe = spot_policy.apply(sp, view, t_start, dt, offered)  # stay, wait or move
        chosen = _choose(free, width, offered, interruptible, rate, prefer_safe, active)
        running = functools.reduce(jnp.logical_or, chosen)
        chosen, running, left = materialise((chosen, running, left), always)
        wall = width * hours * share

        def pick(x, chosen=chosen):
            """The value of the chosen slot (0 if none): exact, one slot at most; ``x`` (S, P, N) or a list."""
            x = x if isinstance(x, list) else [x[:, p] for p in range(n_slots)]
            return functools.reduce(jnp.add, [jnp.where(c, v, 0.0) for v, c in zip(x, chosen, strict=True)])

        here = functools.reduce(jnp.add, [jnp.where(c, p, 0) for p, c in enumerate(chosen)]).astype(slot.dtype)
        moved = running & (prev != NOT_STARTED) & (here != prev)
        owned_events = pick(jnp.where(kind == OWNED, failed_share[:, None] * width * share, 0.0))
        hazard = pick(per_gpu)
        events = owned_events + _interruptions(tuple(range(kind.shape[0])), hazard, hazard * wall, u_runs[r])
        restarts = events + jnp.where(moved, sp.move_weight, 0.0)  # a move loses d
        useful = jnp.maximum(0.0, wall - restarts * width * loss_hours) * efficiency * pick(speed)
        useful = jnp.where(running, useful, 0.0)
        done = jnp.minimum(remaining[:, r], useful)
        finished_now = running & (done >= remaining[:, r])
        # share of the step's wall time used: all of it unless the run finished part-way (unproductive time is paid)
        fraction = jnp.where(finished_now, done / jnp.maximum(useful, DIVISOR_FLOOR), jnp.where(running, 1.0, 0.0))
        fraction, done, finished_now, events = materialise((fraction, done, finished_now, events), always)
        finish = finish.at[:, r].set(jnp.where(finished_now, begin + fraction * share * dt, finish[:, r]))
        remaining = remaining.at[:, r].add(-done)
        for p, c in enumerate(chosen):
            free[p] = free[p] - jnp.where(c, width * share * fraction, 0.0)
            wall_used[p] = wall_used[p] + jnp.where(c, wall * fraction, 0.0)
        interruptions = _book(_book(interruptions, events, _on_slots(kind, chosen, ctx.layout)), 1.0,
                              _on_slots(kind, left, ctx.layout))
        new_provider = jnp.where(running, pick(ctx.provider).astype(last.dtype), last[:, r])
        changed = running & (last[:, r] >= 0) & (new_provider != last[:, r])
        egress = egress_by_provider(last[:, r], costs.egress_usd_per_tb)
        migration = migration + jnp.where(changed, costs.migration_usd + costs.checkpoint_tb * egress, 0.0)
        switched = switched.at[:, r].set(now_switched)
        last = last.at[:, r].set(new_provider)
        stalled = jnp.where(active & (prev != NOT_STARTED), STALLED, prev)
        slot = slot.at[:, r].set(jnp.where(running, here, stalled))
    return RunState(remaining, finish, switched, last, slot), Usage(free, wall_used, interruptions, migration, queue)


def route_backlog(backlog: jax.Array, serves: jax.Array, usage: Usage, terms: PoolTerms, ctx: StepContext,
                  u_slots: jax.Array) -> tuple[jax.Array, Usage]:
    """Serve a backlog (S, N) through the slots that ``serves`` it, in priority order; ``u_slots`` (S, P, N).

    Each slot is sized for the work offered to it and its expected loss, and only the part it has no capacity for
    is offered to the next slot (see *Backlogs* in the module docstring). Returns the backlog left and the usage.
    """
    kind, dt, efficiency, loss_hours, failed_share = ctx.kind, ctx.dt, ctx.efficiency, ctx.loss_hours, \
        ctx.failed_share
    free, wall_used, interruptions, migration, queue = usage
    free, wall_used = list(free), list(wall_used)
    hours = HOURS_PER_DAY * dt
    offered = backlog
    for p in range(kind.shape[1]):
        owned = kind[:, p] == OWNED
        slot_terms = PoolTerms(*(x[:, p] for x in terms))
        rate = efficiency * ctx.throughput[:, p]  # reference GPU-hours per wall GPU-hour, before losses
        # job interrupts (and owned failures) of steady work: the expected count, each losing ``loss`` on one GPU
        loss_fraction = jnp.where(owned, failed_share * loss_hours / hours, slot_terms.hazard * loss_hours) \
            + slot_terms.job_interrupt * loss_hours
        kept = 1.0 - jnp.minimum(loss_fraction, MAX_LOSS_FRACTION)
        need = offered / (rate * kept)
        completes = (1.0 - jnp.minimum(loss_fraction, 1.0)) / kept  # exactly 1 when the loss is within l_max
        # a slot expected to lose all it runs (l >= 1) is not used: the work goes on to the next slot
        wall = jnp.where(serves[:, p] & (loss_fraction < 1.0), jnp.minimum(free[p] * hours, need), 0.0)
        fluid_events = jnp.where(owned, failed_share * wall / hours, 0.0) + slot_terms.job_interrupt * wall
        rows = rows_with(ctx.layout, kind.shape[0], interruptible_codes(), slot=p)
        hazard = jnp.broadcast_to(slot_terms.hazard, wall.shape)
        interrupted = _interruptions(rows, hazard, slot_terms.hazard * wall / slot_terms.instance_gpus,
                                     u_slots[:, p])
        kind_events = jnp.zeros_like(wall) if interrupted is None else interrupted
        events = kind_events + fluid_events
        lost = (kind_events * slot_terms.instance_gpus + fluid_events) * loss_hours
        served = jnp.minimum(offered, jnp.maximum(0.0, wall - lost) * rate)
        used = jnp.minimum(wall, served / rate + lost)  # what the work needed, including what was lost
        backlog = backlog - served
        offered = jnp.minimum(offered * (1.0 - wall / jnp.maximum(need, DIVISOR_FLOOR) * completes), offered - served)
        free[p] = free[p] - used / hours
        wall_used[p] = wall_used[p] + used
        interruptions = _book(interruptions, events,
                              lambda code, p=p: kind[:, p] == code if slot_has(ctx.layout, p, code) else None)
        queue = queue + served * slot_terms.queue_days
    return backlog, Usage(free, wall_used, interruptions, migration, queue)
