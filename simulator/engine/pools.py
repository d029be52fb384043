"""What each pool offers in a step: GPUs, price, interruption hazard, efficiency, queue wait.

One function turns the strategy table and the step's shared drivers into per-slot arrays ``(S, P)``, so routing
(:mod:`simulator.engine.routing`) treats every kind alike. Per kind:

=============  ======================  ===============================  ========================================
kind           GPUs this step          price per wall GPU-hour          interruptions (per instance-hour)
=============  ======================  ===============================  ========================================
owned          installed - max(down,   busy power: k kW PUE $/kWh (1-i) failures of the owned fleet (expected)
               min(spares, installed))
on_demand      quota                   P_q(0) M^beta_od x               none
spot           quota if available      (1 - d_q) P_q(0) M^beta_spot x   reclaim hazard (good or bad pool), g GPUs
                                                                        per instance
marketplace    quota                   P_q(0) M^beta_mp (1 - d_q int)   host failures (+ outbid if interruptible)
                                       x
academic       min(cap, a G_centre)    usage price (~0)                 none; queue wait, walltime resubmission
notebook       seats (1 GPU each)      units beyond the included ones   early terminations, 24-h session cap
reserved       committed GPUs while    0 (take-or-pay: the commitment   none
               the commitment is       is paid used or not, see
               active, else 0          :mod:`~simulator.engine.reserved`)
=============  ======================  ===============================  ========================================

``P_q(0)`` is the on-demand price at t=0 of the slot's provider ``q`` (``providers.q.on_demand_usd_per_gpu_hour``,
per H100 GPU-hour), ``d_q`` its spot discount (a marketplace's bid tier, ``int`` = the pool is ``interruptible``),
``M`` the market's price index and ``beta`` each kind's loading on it (:mod:`~simulator.engine.processes.market`):
two pools of one kind at different providers differ in price (:func:`slot_market`) and ``x``
the regime's rental factor, ``m_rent`` in a shortage and 1 otherwise
(:func:`simulator.engine.processes.regime.rental_factor`); the spot hazard is the path's pool's, good or bad
(:func:`simulator.engine.processes.spot.reclaim_hazard`).

*GPU types* (:mod:`simulator.engine.strategies`): the price of a rented kind is its provider's H100 price above
times the slot's ``rent_price_ratio`` (applied once, at the end of :func:`pool_terms`, whatever computed the H100
price); an owned GPU draws ``k = power_ratio`` times ``owned.kw_per_gpu``; the academic centre's GPUs ``G_centre``
(counted in the priors' A100-40GB) become ``a = rgu(a100) / rgu(type)`` GPUs of the centre's type. Capacity is in
GPUs of the slot's type; routing converts wall GPU-hours to reference work with the slot's ``throughput``.

``P_od`` is the on-demand price of a slot, :func:`on_demand_price` (the one place it is computed: on-demand pools,
reserved commitments and their resale read it).

Every kind also has the *job-interrupt* hazard ``lambda_j`` per GPU-hour (``workload.job_interrupt_per_gpu_hour``,
all causes: software, network, GPU faults), term ``job_interrupt``: a job interrupt costs the work since the last
checkpoint and the restart, and the GPU stays. On an owned slot the hardware-down failures of the fleet
(:mod:`~simulator.engine.processes.failures`, which also take the GPU away for the repair) are the part of these
already drawn, so its extra hazard is ``max(lambda_j - lambda_hw, 0)``; a provider swaps a node in hours, so other
kinds lose no capacity to it. The owned capacity holds back ``spares`` GPUs (:class:`StepDrivers`).

Each kind's terms are one small function in :data:`KIND_TERMS` (its row of the table above); kinds as such
(provider, interruptibility, data policy, cost category) are rows of :data:`simulator.engine.kinds.KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.config.providers import builtin_names
from simulator.engine._xla import Layout, kinds_present
from simulator.engine.kinds import EMPTY, KINDS, any_of, codes_where, kind_code
from simulator.engine.params import HostingParams, Params
from simulator.engine.processes import academic, market, regime, spot
from simulator.engine.strategies import StrategyTable


class PoolTerms(NamedTuple):
    capacity: jax.Array  # GPUs offered this step
    price: jax.Array  # USD per wall GPU-hour of use
    hazard: jax.Array  # interruptions per instance-hour (non-owned kinds)
    job_interrupt: jax.Array  # job interrupts per GPU-hour on top of ``hazard`` (every kind; owned: beyond failures)
    instance_gpus: jax.Array  # GPUs lost together when an instance is interrupted
    run_efficiency: jax.Array  # extra useful fraction of long runs (walltime or session resubmission)
    queue_days: jax.Array  # wait added to every GPU-hour served (academic queue)
    interruptible: jax.Array  # bool: the kind loses work to interruptions (left by a run whose slack is gone)


TERM_DEFAULTS = dict(capacity=0.0, price=0.0, hazard=0.0, instance_gpus=1.0, run_efficiency=1.0, queue_days=0.0)
"""The value of a kind-specific term for a kind that does not set it."""


class SlotMarket(NamedTuple):
    """Each slot's provider's priors, (S, P, N) (zero in slots without a catalogue provider)."""

    on_demand_usd_per_gpu_hour: jax.Array  # P_q(0)
    spot_discount: jax.Array  # d_q


class StepDrivers(NamedTuple):
    """The shared drivers of a step that pools read; (N,) per path, ``owned_up`` (S, N)."""

    log_index: jax.Array
    owned_up: jax.Array  # owned GPUs offered: up, less the spares held back (see ``step._fleet_step``)
    spot_available: jax.Array
    academic_gpus: jax.Array
    market: SlotMarket  # each slot's provider's priors, (S, P, N)
    shortage: jax.Array  # bool: the market is in a shortage (:mod:`~simulator.engine.processes.regime`)
    spot_bad_pool: jax.Array  # bool: the path's spot pool is a bad one (reclaim hazard ``spot.bad_reclaim...``)
    month: jax.Array  # () int: the step's month (0 = the first), for commitments that start and end on months


def _by_slot(st: StrategyTable, values: tuple[jax.Array, ...]) -> jax.Array:
    """Per-provider values (one (N,) array per catalogue provider) gathered at each slot's provider, (S, P, N)."""
    if not values:  # no catalogue: no rented slot can exist
        return jnp.zeros(st.kind.shape[:2] + (1,))
    index = st.provider[..., 0] if st.provider.ndim == 3 else st.provider
    catalogue = index - len(builtin_names())
    gathered = jnp.stack(values)[jnp.clip(catalogue, 0, len(values) - 1)]
    return jnp.where((catalogue >= 0)[..., None], gathered, 0.0)


def slot_market(st: StrategyTable, params: Params) -> SlotMarket:
    """Each slot's provider's on-demand price and spot discount."""
    return SlotMarket(_by_slot(st, params.provider_on_demand_usd_per_gpu_hour),
                      _by_slot(st, params.provider_spot_discount))


def on_demand_price(st: StrategyTable, params: Params, log_index: jax.Array, shortage: jax.Array,
                    slots: SlotMarket | None = None) -> jax.Array:
    """The on-demand price per GPU-hour of each slot's provider and GPU type at the index ``e^log_index`` and the
    regime ``shortage``: ``r P_q(0) M^beta_od x`` (``r`` the type's ``rent_price_ratio``, ``x`` the regime's rental
    factor), (S, P, N). Reserved commitments and the marginal rental are priced from it; the kinds' terms get the
    H100 price and the ratio once, in :func:`pool_terms`. ``slots``: the slots' provider priors if already
    gathered (:func:`slot_market`)."""
    slots = slot_market(st, params) if slots is None else slots
    ratio = st.rent_price_ratio if st.rent_price_ratio.ndim == 3 else st.rent_price_ratio[..., None]
    return ratio * market.loaded_price(slots.on_demand_usd_per_gpu_hour, log_index,
                                       params.market.loading_on_demand) * regime.rental_factor(shortage, params)


def egress_by_provider(provider: jax.Array, egress_usd_per_tb: tuple[jax.Array, ...]) -> jax.Array:
    """USD per TB charged for data leaving each provider id in ``provider`` (any shape, paths last): the catalogue
    provider's ``egress_usd_per_tb`` (``Params.provider_egress_usd_per_tb``, one (N,) array per catalogue
    provider); built-in providers (and -1, none) charge nothing."""
    out = jnp.asarray(0.0)
    first = len(builtin_names())
    for q, usd_per_tb in enumerate(egress_usd_per_tb):
        out = jnp.where(provider == first + q, usd_per_tb, out)
    return out


KindTerms = Callable[[StrategyTable, Params, StepDrivers], dict[str, jax.Array]]


def interruptible_codes() -> tuple[int, ...]:
    """Codes of the kinds with an interruption hazard."""
    return codes_where(interruptible=True)


def by_kind(kind: jax.Array, default, **values) -> jax.Array:
    """Per-slot value chosen by kind name: ``by_kind(kind, 0.0, owned=a, spot=b, ...)``; 0 in empty slots."""
    codes = kind_code()
    out = jnp.asarray(default)
    for name, value in values.items():
        out = jnp.where(kind == codes[name], value, out)
    return jnp.where(kind == EMPTY, 0.0, out)


def hosting(st: StrategyTable, params: Params) -> HostingParams:
    """Hosting parameters of each strategy's owned servers: colocation or own premises, (S, N) each."""
    return HostingParams(*(jnp.where(st.colo, c, o) for c, o in zip(params.colo, params.onprem, strict=True)))


def _owned(st: StrategyTable, params: Params, d: StepDrivers) -> dict:
    busy_power = params.owned.kw_per_gpu * st.owned_power_ratio * hosting(st, params).pue \
        * params.market.electricity_usd_per_kwh * (1.0 - params.owned.idle_power_fraction)
    return dict(capacity=d.owned_up[:, None], price=busy_power[:, None])


def reserved_active(st: StrategyTable, month: jax.Array) -> jax.Array:
    """Whether each slot's commitment is active in ``month``: ``s <= m < e`` with ``e = min(x, s + T)``, or
    ``e = x`` with renewal (``s`` start, ``T`` term, ``x`` exit month, inf if none); shaped like ``st.gpus``."""
    m = jnp.asarray(month, st.start_month.dtype)
    end = jnp.minimum(st.exit_month, jnp.where(st.renew, jnp.inf, st.start_month + st.term_months))
    return (m >= st.start_month) & (m < end)


def _on_demand(st: StrategyTable, params: Params, d: StepDrivers) -> dict:
    price = market.loaded_price(d.market.on_demand_usd_per_gpu_hour, d.log_index, params.market.loading_on_demand)
    return dict(capacity=st.gpus, price=price * regime.rental_factor(d.shortage, params))


def _spot(st: StrategyTable, params: Params, d: StepDrivers) -> dict:
    base = (1.0 - d.market.spot_discount) * d.market.on_demand_usd_per_gpu_hour
    return dict(capacity=jnp.where(d.spot_available, st.gpus, 0.0),
                price=market.loaded_price(base, d.log_index, params.market.loading_spot)
                * regime.rental_factor(d.shortage, params),
                hazard=spot.reclaim_hazard(d.spot_bad_pool, params.spot.reclaim_per_instance_hour,
                                           params.spot.bad_reclaim_per_instance_hour),
                instance_gpus=params.spot.gpus_per_instance)


def _marketplace(st: StrategyTable, params: Params, d: StepDrivers) -> dict:
    price = market.loaded_price(d.market.on_demand_usd_per_gpu_hour, d.log_index, params.market.loading_marketplace)
    hazard = params.marketplace.host_failure_per_hour \
        + jnp.where(st.interruptible, params.marketplace.outbid_per_hour, 0.0)
    return dict(capacity=st.gpus, hazard=hazard, instance_gpus=params.marketplace.gpus_per_host,
                price=price * jnp.where(st.interruptible, 1.0 - d.market.spot_discount, 1.0)
                * regime.rental_factor(d.shortage, params))


def _academic(st: StrategyTable, params: Params, d: StepDrivers) -> dict:
    efficiency = academic.resubmission_efficiency(params.academic.walltime_hours, params.academic.queue_wait_days,
                                                  params.workload.restart_hours)
    return dict(capacity=jnp.minimum(st.gpus, d.academic_gpus * st.academic_gpus_ratio),
                price=params.academic.usd_per_gpu_hour,
                run_efficiency=efficiency, queue_days=params.academic.queue_wait_days)


def _notebook(st: StrategyTable, params: Params, d: StepDrivers) -> dict:
    session = params.notebook.session_hours
    return dict(capacity=st.gpus, hazard=params.notebook.termination_per_hour,
                run_efficiency=session / (session + params.workload.restart_hours))


def _reserved(st: StrategyTable, params: Params, d: StepDrivers) -> dict:
    return dict(capacity=jnp.where(reserved_active(st, d.month), st.gpus, 0.0))


KIND_TERMS: dict[str, KindTerms] = dict(owned=_owned, on_demand=_on_demand, spot=_spot, marketplace=_marketplace,
                                        academic=_academic, notebook=_notebook, reserved=_reserved)
"""Each kind's terms, ``f(strategies, params, drivers) -> {term: value}``: terms it leaves out take
:data:`TERM_DEFAULTS`. Values broadcast to (S, P, N)."""


def pool_terms(st: StrategyTable, params: Params, drivers: StepDrivers, layout: Layout = None) -> PoolTerms:
    """Per-slot terms for one step (see the table in the module docstring).

    Shapes: ``st`` carries a path axis (``kind`` is (S, P, 1)); ``params`` leaves and shared drivers are (N,);
    ``drivers.owned_up`` is (S, N). Every returned array is (S, P, N). ``layout``: the static slot kinds, whose
    interruptible kinds alone are tested for ``interruptible``. Every kind's terms are computed and selected, even
    for kinds no slot has: leaving them out would leave their priors (drawn per path, an output) without a consumer
    in the step, and GSPMD then replicates them on every device instead of splitting them by path
    (``tests/engine/test_devices.py``).
    """
    kind = st.kind
    by_name = {name: KIND_TERMS[name](st, params, drivers) for name in KINDS}
    chosen = {term: by_kind(kind, default, **{name: t[term] for name, t in by_name.items() if term in t})
              for term, default in TERM_DEFAULTS.items()}
    interruptible = any_of(kind, tuple(c for c in interruptible_codes() if c in kinds_present(layout, len(KINDS))))
    job = params.workload.job_interrupt_per_gpu_hour
    owned_extra = jnp.maximum(job - params.owned.failure_per_gpu_hour, 0.0)
    job_interrupt = by_kind(kind, job, owned=owned_extra)
    chosen["price"] = chosen["price"] * st.rent_price_ratio  # the H100 price of the kind times the GPU type's ratio
    return PoolTerms(**chosen, job_interrupt=jnp.broadcast_to(job_interrupt, kind.shape[:2] + job.shape),
                     interruptible=jnp.broadcast_to(interruptible, kind.shape[:2] + drivers.log_index.shape))
