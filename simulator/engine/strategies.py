"""Strategies as data: ordered capacity pools, encoded as arrays that one engine runs.

A strategy is a mapping of pools in priority order (YAML mapping order), each with a ``kind``, a GPU count (owned
fleet ordered at t=0, rental quota, notebook seats, or a cap on academic GPUs), the work it ``serves`` (``light``
single-GPU work, ``heavy`` multi-GPU steady work, named training ``runs``) and kind-specific knobs. Every step,
training runs and then the light and heavy backlogs are routed through the pools in that order
(:mod:`simulator.engine.routing`). Adding a strategy is adding a YAML file in ``conf/strategy/`` and a line in a scenario.

The scenario's data policy is applied here: with sensitive data, marketplace and notebook pools are closed, and public
cloud pools are closed (``policy: exclude``) or pay a compliance markup and fee (``policy: compliance``).

The engine sees a :class:`StrategyTable` of shape ``(strategies, slots)``: every field is an array leaf, so changing
a fleet size, quota, knob or GPU type never recompiles (only the number of strategies and slots is static).

*GPU types.* Every pool has a GPU type (``PoolConfig.gpu``, a row of the config's ``gpus`` table); work is counted in
reference (H100 SXM) GPU-hours. Per slot: ``throughput`` ``f`` (reference GPU-hours per wall GPU-hour), the
``rent_price_ratio`` of rented kinds (1 elsewhere), and the unit conversions of the academic centre (its GPUs are the
``academic.*`` priors' A100-40GB GPUs times ``rgu(a100) / rgu(type)``) and of notebooks (compute units per GPU-hour
``notebook.units_per_gpu_hour x cu(type) / cu(a100)``); per strategy, the owned pool's ``purchase_price_ratio`` and
``power_ratio``. Empty slots and strategies without the kind get 1.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from simulator.config.schema import (
    RESERVED_KNOBS,
    SPOT_POLICIES,
    UNIT_ANCHOR_GPU,
    DataPolicy,
    GpuType,
    StrategyConfig,
    pool_gpu,
)
from simulator.engine.kinds import EMPTY, KINDS, OWNED, closed_by_policy, code, is_public_cloud

DEFAULT_PROVIDERS = ("onprem", "academic", "notebook", "hyperscaler", "neocloud", "marketplace")
"""The provider universe of the default catalogue (conf/providers/default.yaml), for tables built without a
config."""

CATEGORY_DESCRIPTIONS = {
    "on_demand": "on-demand rental (wall GPU-hours x on-demand price)",
    "spot": "spot rental (wall GPU-hours x spot price, lost work included)",
    "marketplace": "marketplace rental (wall GPU-hours x marketplace price, interruptible tier discounted)",
    "reserved": "reserved (committed) capacity, take-or-pay: committed GPUs x hours x the price locked at signing, "
                "used or not; early-exit fees; capacity blocks paid upfront at t=0",
    "reserved_resale": "idle reserved GPU-hours resold at the spot-like price, times the fill fraction, net of the "
                       "market's fee (a credit, negative)",
    "notebook": "notebook subscriptions (monthly fee per seat) and compute units beyond those included",
    "academic": "academic centre: usage price and partnership cost",
    "capex": "purchase of owned GPUs (spares included) at delivery, at the price quoted when ordered",
    "lease": "leased owned GPUs: owned.lease_rate_factor_per_month x quoted price x GPUs per month, from delivery "
             "for the lease term (procurement.financing: lease)",
    "fabric": "network fabric (switches, cables, optics) of owned GPUs, paid at delivery",
    "buildout": "one-off build-out of an on-prem server room per kW of owned GPUs delivered",
    "support": "support and maintenance of owned GPUs after their first year, a share of their purchase price",
    "power": "electricity of owned GPUs: (busy + idle fraction x idle) GPU-h x kW x PUE x $/kWh",
    "facility": "space and cooling (on-prem) or rack rent (colocation, at least the committed kW) per kW per month, "
                "and fixed hosting fees",
    "staff": "operations staff for owned GPUs (per 100 GPUs, with a floor per cluster)",
    "cloud_ops": "cloud operations staff for strategies with rental pools, and paid support as a share of rentals",
    "storage": "the dataset where it lives and its copies at every other provider used, per TB-month",
    "data": "egress of the dataset to each provider that holds a copy (once per copy, and as the data grows)",
    "migration": "moving a training run between providers: engineering cost and checkpoint egress",
    "compliance": "sensitive data on public cloud under policy 'compliance': markup and yearly fee",
    "residual": "resale value of owned GPUs at the horizon, net of sale fees (a credit, negative)",
    "delay": "shortfall: steady work waiting (GPU-hour-days, academic queue and the wait after the horizon "
             "until cleared included) x workload.delay_usd_per_gpu_hour_day",
    "late_runs": "shortfall: days each training run finishes past its deadline x its late_usd_per_day, plus "
                 "missed_usd if later than missed_after_days",
    "unserved": "shortfall: work still waiting at the horizon (steady backlog and unfinished runs), valued at the "
                "strategy's marginal rental price at the horizon",
}
"""Cost categories in Dataset order, each with its description; a kind's usage spend is booked to its row's
``cost_category`` (:mod:`simulator.engine.kinds`), the other categories in :func:`accounting.step_costs` and
:func:`accounting.finalise`. The categories in :data:`SHORTFALL_CATEGORIES` price undone or late work (the
*shortfall*); the others are money spent (the *spend*); ``cost`` (the cost of service) is their sum."""
COST_CATEGORIES = tuple(CATEGORY_DESCRIPTIONS)
SHORTFALL_CATEGORIES = ("delay", "late_runs", "unserved")
SPEND_CATEGORIES = tuple(c for c in COST_CATEGORIES if c not in SHORTFALL_CATEGORIES)
CATEGORY_INDEX = {name: i for i, name in enumerate(COST_CATEGORIES)}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class StrategyTable:
    """Pools of every strategy, ``(S, P)`` per slot and ``(S,)`` per strategy; all leaves are arrays."""

    kind: jax.Array  # (S, P) int codes, -1 empty
    provider: jax.Array  # (S, P) int provider id (index in ``EngineInputs.providers``), -1 empty
    gpus: jax.Array  # (S, P)
    serves_light: jax.Array  # (S, P) bool
    serves_heavy: jax.Array  # (S, P) bool
    serves_runs: jax.Array  # (S, P) bool
    interruptible: jax.Array  # (S, P) bool
    # reserved pools' commitments (:mod:`simulator.engine.reserved`), (S, P); other slots hold the defaults
    start_month: jax.Array  # first month of the commitment (its price is locked then)
    term_months: jax.Array  # months per term
    exit_month: jax.Array  # early exit at this month, inf: none
    exit_fee_share: jax.Array  # share of the commitment left in the term paid on exit
    renew: jax.Array  # bool: another term at the then-current price at each term's end
    resell_idle: jax.Array  # bool: idle committed GPU-hours are resold
    block: jax.Array  # bool: a capacity block (price at t=0, paid upfront)
    colo: jax.Array  # (S,) bool: owned servers in colocation
    spares: jax.Array  # (S,) owned GPUs bought on top of the owned pool's ``gpus`` and held back for failures
    checkpoint_interval_hours: jax.Array  # (S,)
    deadline_aware: jax.Array  # (S,) bool
    spot_policy: jax.Array  # (S,) int code in ``SPOT_POLICIES`` (:mod:`simulator.engine.spot_policy`)
    changeover_hours: jax.Array  # (S,) hours lost per move or resume; -1: the move loss (tau + C)/2 + R
    capex_budget_usd: jax.Array  # (S,), inf = no cap
    expansion_gpus: jax.Array  # (S,)
    expansion_threshold: jax.Array  # (S,)
    expansion_months: jax.Array  # (S,)
    compliance_markup: jax.Array  # (S,) on cloud spend
    compliance_usd_per_year: jax.Array  # (S,) while the strategy has a cloud pool
    throughput: jax.Array  # (S, P) reference GPU-hours per wall GPU-hour of the slot's GPU type (1 if empty)
    rent_price_ratio: jax.Array  # (S, P) price per GPU-hour over an H100's, rented kinds (1 elsewhere)
    academic_gpus_ratio: jax.Array  # (S, P) the centre's GPUs per A100-40GB of the priors, rgu(a100)/rgu(type)
    notebook_units_ratio: jax.Array  # (S, P) compute units per GPU-hour over an A100's, cu(type)/cu(a100)
    owned_purchase_ratio: jax.Array  # (S,) purchase price of the owned GPU type over the H100 price (1 if none)
    owned_power_ratio: jax.Array  # (S,) power per owned GPU over owned.kw_per_gpu (1 if none)
    # procurement policies (:mod:`simulator.engine.procurement`); defaults: none
    schedule_months: jax.Array  # (S, J) month of each scheduled order (-1: none)
    schedule_gpus: jax.Array  # (S, J) its GPUs
    coverage: jax.Array  # (S,) base-stock target over the forecast (0: off)
    trigger_gpus: jax.Array  # (S,) base-stock orders once the target reaches this
    tranche_gpus: jax.Array  # (S,) orders in whole multiples of this (and sales of one)
    lease: jax.Array  # (S,) bool: orders are leased
    lease_term_months: jax.Array  # (S,)
    sell_month: jax.Array  # (S,) sell the whole fleet at this month's end (inf: never)
    sell_below_utilisation: jax.Array  # (S,) sell a tranche after months_below months below it (0: never)
    months_below: jax.Array  # (S,)

    @property
    def owned_ordered(self) -> jax.Array:
        """Owned GPUs ordered at t=0 per strategy, spares included, (S,) (or (S, 1) with a path axis)."""
        return jnp.sum(jnp.where(self.kind == OWNED, self.gpus, 0.0), axis=1) + self.spares

    def with_path_axis(self) -> StrategyTable:
        """The same table with a trailing axis of length 1 on every leaf, to broadcast against paths (last axis).

        The engine keeps paths on the last (minor) axis so every elementwise operation vectorises over paths; with
        paths first, XLA's row-major layout would vectorise over the few pools and strategies instead.
        """
        return jax.tree_util.tree_map(lambda x: x[..., None], self)


def gpu_factors(strategies: dict[str, StrategyConfig], gpus: dict[str, GpuType] | None) -> dict[str, np.ndarray]:
    """The GPU-type leaves of the table (see the module docstring), as NumPy arrays; ``gpus`` None: every type is
    the reference (all factors 1)."""
    n, slots = len(strategies), max(len(s.pools) for s in strategies.values())
    per_slot = {name: np.ones((n, slots)) for name in ("throughput", "rent_price_ratio", "academic_gpus_ratio",
                                                       "notebook_units_ratio")}
    per_strategy = {name: np.ones(n) for name in ("owned_purchase_ratio", "owned_power_ratio")}
    if gpus is None:
        return {**per_slot, **per_strategy}
    anchor = gpus.get(UNIT_ANCHOR_GPU)
    for i, strategy in enumerate(strategies.values()):
        for j, pool in enumerate(strategy.pools.values()):
            row = gpus[pool_gpu(pool)]
            per_slot["throughput"][i, j] = row.throughput
            if KINDS[pool.kind].rented:
                per_slot["rent_price_ratio"][i, j] = row.rent_price_ratio
            if pool.kind == "academic":
                per_slot["academic_gpus_ratio"][i, j] = anchor.alliance_rgu / row.alliance_rgu
            if pool.kind == "notebook":
                per_slot["notebook_units_ratio"][i, j] = row.colab_units_per_hour / anchor.colab_units_per_hour
            if pool.kind == "owned":
                per_strategy["owned_purchase_ratio"][i] = row.purchase_price_ratio
                per_strategy["owned_power_ratio"][i] = row.power_ratio
    return {**per_slot, **per_strategy}


def strategy_table(strategies: dict[str, StrategyConfig], data: DataPolicy | None = None,
                   dtype=jnp.float32, providers: tuple[str, ...] | None = None,
                   gpus: dict[str, GpuType] | None = None) -> StrategyTable:
    """Encode validated strategy configs (in their mapping order), the data policy and the GPU types of their pools
    (``gpus``: the config's table; None: all the reference type) as a :class:`StrategyTable`.

    ``providers`` is the provider universe (:func:`simulator.config.providers.provider_names`; default: the built-in
    providers and the default catalogue's); a pool's provider id is the index of its provider there.
    """
    data = data or DataPolicy()
    providers = providers or DEFAULT_PROVIDERS
    factors = gpu_factors(strategies, gpus)
    n, slots = len(strategies), max(len(s.pools) for s in strategies.values())
    kind = np.full((n, slots), EMPTY, np.int32)
    provider = np.full((n, slots), EMPTY, np.int32)
    gpus = np.zeros((n, slots))
    serves = {work: np.zeros((n, slots), bool) for work in ("light", "heavy", "runs")}
    interruptible = np.zeros((n, slots), bool)
    commit = {knob: np.zeros((n, slots), bool if knob in ("renew", "resell_idle", "block") else float)
              for knob in RESERVED_KNOBS}
    colo, markup, fee = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    spares = np.zeros(n)
    for i, strategy in enumerate(strategies.values()):
        for j, pool in enumerate(strategy.pools.values()):
            kind[i, j] = code(pool.kind)
            provider[i, j] = providers.index(pool.provider or KINDS[pool.kind].provider)
            gpus[i, j] = 0.0 if closed_by_policy(pool.kind, data) else pool.gpus
            for work in serves:
                serves[work][i, j] = work in pool.serves
            interruptible[i, j] = pool.interruptible
            for knob, values in commit.items():
                value = getattr(pool, knob)
                values[i, j] = np.inf if value is None else value
            colo[i] |= pool.kind == "owned" and pool.hosting == "colo"
            spares[i] += pool.spares if pool.kind == "owned" else 0.0
        uses_cloud = any(is_public_cloud(p.kind) for p in strategy.pools.values())
        if data.sensitive and data.policy == "compliance" and uses_cloud:
            markup[i], fee[i] = data.compliance_markup, data.compliance_usd_per_year
    knobs = list(strategies.values())
    budget = [np.inf if s.capex_budget_usd is None else s.capex_budget_usd for s in knobs]
    f = lambda values: jnp.asarray(np.asarray(values, float), dtype)  # noqa: E731
    return StrategyTable(
        kind=jnp.asarray(kind), provider=jnp.asarray(provider), gpus=f(gpus), serves_light=jnp.asarray(serves["light"]),
        serves_heavy=jnp.asarray(serves["heavy"]), serves_runs=jnp.asarray(serves["runs"]),
        interruptible=jnp.asarray(interruptible),
        **{k: jnp.asarray(v) if v.dtype == bool else f(v) for k, v in commit.items()}, colo=jnp.asarray(colo), spares=f(spares),
        checkpoint_interval_hours=f([s.checkpoint_interval_hours for s in knobs]),
        deadline_aware=jnp.asarray([s.deadline_aware for s in knobs]), capex_budget_usd=f(budget),
        spot_policy=jnp.asarray([SPOT_POLICIES.index(s.spot_policy) for s in knobs], jnp.int32),
        changeover_hours=f([-1.0 if s.changeover_hours is None else s.changeover_hours for s in knobs]),
        expansion_gpus=f([s.expansion.gpus for s in knobs]),
        expansion_threshold=f([s.expansion.utilisation_threshold for s in knobs]),
        expansion_months=f([s.expansion.months_above for s in knobs]),
        compliance_markup=f(markup), compliance_usd_per_year=f(fee),
        **{name: f(values) for name, values in factors.items()},
        **procurement_leaves(knobs, f),
    )


def procurement_leaves(knobs: list[StrategyConfig], f) -> dict[str, jax.Array]:
    """The procurement leaves of the table (``f``: a list of numbers to an array of the engine's dtype); the
    schedule padded to the longest list with month -1 (never) and 0 GPUs."""
    pro = [s.procurement for s in knobs]
    width = max([1] + [len(p.schedule.order_months) for p in pro])
    pad = lambda values, fill: list(values) + [fill] * (width - len(values))  # noqa: E731
    return dict(
        schedule_months=f([pad(p.schedule.order_months, -1) for p in pro]),
        schedule_gpus=f([pad(p.schedule.order_gpus, 0) for p in pro]),
        coverage=f([p.base_stock.coverage for p in pro]), trigger_gpus=f([p.base_stock.trigger_gpus for p in pro]),
        tranche_gpus=f([p.base_stock.tranche_gpus for p in pro]),
        lease=jnp.asarray([p.financing == "lease" for p in pro]),
        lease_term_months=f([p.lease_term_months for p in pro]),
        sell_month=f([np.inf if p.sell_month is None else p.sell_month for p in pro]),
        sell_below_utilisation=f([p.sell_below_utilisation for p in pro]), months_below=f([p.months_below for p in pro]),
    )


def uses_procurement(strategies: dict[str, StrategyConfig]) -> bool:
    """Whether any strategy orders by a schedule or the base-stock rule, or leases (then orders need several
    slots; :mod:`simulator.engine.procurement`)."""
    return any(s.procurement.schedule.order_months or s.procurement.base_stock.coverage > 0.0
               or s.procurement.financing == "lease" for s in strategies.values())
