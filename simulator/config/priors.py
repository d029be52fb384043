"""Typed schema of the priors: one dataclass per group, one ``PriorSpec`` per uncertain parameter.

A prior field's metadata (``ge``/``gt``/``le``/``lt``) is the parameter's domain: :mod:`simulator.config.validate` checks
that the whole support of the chosen distribution lies in it, and :mod:`simulator.engine.priors` clips draws to it.
Defaults live in ``conf/priors/default.yaml`` with their sources; an empty spec here fails validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass

from simulator.config._fields import bounded

DISTRIBUTIONS = ("fixed", "uniform", "normal", "lognormal", "beta")


@dataclass
class PriorSpec:
    """One uncertain parameter: a distribution and its parameters.

    ``fixed(value)``, ``uniform(low, high)``, ``normal(mean, sd)``, ``lognormal(median, p90)``, ``beta(mean, sd)``.
    Parameters that the chosen distribution does not use are ignored (so a file can switch families).
    """

    dist: str = bounded("fixed", choices=DISTRIBUTIONS)
    value: float | None = None
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    p90: float | None = None


def prior(**domain: float) -> PriorSpec:
    """Field holding a :class:`PriorSpec`; ``domain`` (``ge``/``gt``/``le``/``lt``) bounds the parameter's support."""
    return field(default_factory=PriorSpec, metadata=domain)


DOMAINS = {  # the support a parameter's prior must keep to (checked by validation, enforced by clipping)
    "probability": dict(ge=0.0, le=1.0),
    "nonnegative": dict(ge=0.0),
    "positive": dict(gt=0.0),
    "at_least_one": dict(ge=1.0),
    "loading": dict(ge=-5.0, le=5.0),  # exponent of the price index in a price (1: moves with it)
    "drift": dict(ge=-10.0, le=10.0),  # log drift per year
}
GROUP_DOCS = {
    "workload": "Steady demand, its growth and noise, what waiting costs, checkpoints, job interrupts, migration.",
    "market": "The price index's drift and volatility, hardware and electricity prices, and each price's loading on "
              "the index (rental prices are per provider: ``providers``).",
    "spot": "Spot reclaims (a good or bad pool per path), spells without capacity, instance size, obtaining many "
            "instances at once.",
    "owned": "The hardware itself, wherever it is hosted: failures, lead time, power, support, fabric, resale.",
    "operations": "People and support contracts: staff cost per FTE, cloud operations for rental strategies.",
    "storage": "The dataset as a stock: its size and growth, and what a TB-month costs at each provider.",
    "hosting": "Where owned servers live: own premises (``onprem``, with a build-out) or a rented colocation rack "
               "(``colo``, with a minimum commitment).",
    "academic": "An academic compute centre: partnership, allocation cycle, queue, walltime and fees.",
    "marketplace": "A decentralised marketplace: host failures and outbids (its prices: ``providers``).",
    "notebook": "A notebook tier: seat fee, compute units, session length and terminations.",
    "reserved": "Committed capacity: discounts off on-demand by term and for capacity blocks, resale of idle hours.",
    "regime": "The market's regime, normal or GPU shortage (a Markov chain per path): how often and how long, and "
              "what a shortage does to rental prices, hardware quotes, lead times and spot availability.",
}
PARAMETERS = {  # "group.parameter": domain, one row per uncertain parameter (defaults: conf/priors/default.yaml)
    "workload.base_gpu_hours_per_day": "nonnegative",
    "workload.light_fraction": "probability",
    "workload.growth_multiplier_per_year": "positive",
    "workload.volatility_per_year": "nonnegative",
    "workload.checkpoint_cost_hours": "nonnegative",
    "workload.restart_hours": "nonnegative",
    "workload.delay_usd_per_gpu_hour_day": "nonnegative",
    "workload.clearing_gpus": "at_least_one",
    "workload.job_interrupt_per_gpu_hour": "nonnegative",
    "workload.checkpoint_tb": "nonnegative",
    "workload.migration_usd": "nonnegative",
    "market.drift_per_year": "drift",
    "market.volatility_per_year": "nonnegative",
    "market.hardware_usd_per_gpu": "nonnegative",
    "market.electricity_usd_per_kwh": "nonnegative",
    "market.loading_on_demand": "loading",
    "market.loading_spot": "loading",
    "market.loading_marketplace": "loading",
    "market.loading_hardware": "loading",
    "spot.reclaim_per_instance_hour": "nonnegative",
    "spot.unavailable_fraction": "probability",
    "spot.unavailable_spell_days": "positive",
    "spot.gpus_per_instance": "at_least_one",
    "spot.bad_pool_probability": "probability",
    "spot.bad_reclaim_per_instance_hour": "nonnegative",
    "spot.obtain_16_probability": "probability",
    "owned.failure_per_gpu_hour": "nonnegative",
    "owned.repair_days": "positive",
    "owned.lead_time_weeks": "nonnegative",
    "owned.kw_per_gpu": "nonnegative",
    "owned.idle_power_fraction": "probability",
    "owned.resale_retention_per_year": "probability",
    "owned.resale_fee_share": "probability",
    "owned.support_share_per_year": "nonnegative",
    "owned.fabric_usd_per_gpu": "nonnegative",
    "owned.lease_rate_factor_per_month": "nonnegative",
    "operations.staff_usd_per_fte_year": "nonnegative",
    "operations.cloud_min_fte": "nonnegative",
    "operations.cloud_support_share": "nonnegative",
    "storage.dataset_tb": "nonnegative",
    "storage.growth_multiplier_per_year": "positive",
    "storage.onprem_usd_per_tb_month": "nonnegative",
    "storage.cloud_usd_per_tb_month": "nonnegative",
    "storage.marketplace_usd_per_tb_month": "nonnegative",
    "storage.academic_usd_per_tb_month": "nonnegative",
    "storage.notebook_usd_per_tb_month": "nonnegative",
    "hosting.pue": "at_least_one",
    "hosting.facility_usd_per_kw_month": "nonnegative",
    "hosting.fte_per_100_gpus": "nonnegative",
    "hosting.min_fte": "nonnegative",
    "hosting.fixed_usd_per_month": "nonnegative",
    "hosting.buildout_usd_per_kw": "nonnegative",
    "hosting.min_commit_kw": "nonnegative",
    "academic.partnership_probability": "probability",
    "academic.admin_lead_days": "nonnegative",
    "academic.first_allocation_day": "nonnegative",
    "academic.first_cycle_applied": "probability",
    "academic.application_lead_days": "nonnegative",
    "academic.acceptance_probability": "probability",
    "academic.allocation_gpus": "nonnegative",
    "academic.usable_fraction": "probability",
    "academic.opportunistic_gpus": "nonnegative",
    "academic.queue_wait_days": "nonnegative",
    "academic.walltime_hours": "positive",
    "academic.usd_per_gpu_hour": "nonnegative",
    "academic.partnership_usd_per_year": "nonnegative",
    "marketplace.host_failure_per_hour": "nonnegative",
    "marketplace.outbid_per_hour": "nonnegative",
    "marketplace.gpus_per_host": "at_least_one",
    "notebook.monthly_fee_usd": "nonnegative",
    "notebook.included_units": "nonnegative",
    "notebook.usd_per_unit": "nonnegative",
    "notebook.units_per_gpu_hour": "nonnegative",
    "notebook.session_hours": "positive",
    "notebook.termination_per_hour": "nonnegative",
    "reserved.discount_1y": "probability",
    "reserved.discount_3y": "probability",
    "reserved.block_discount": "probability",
    "reserved.resale_fill_fraction": "probability",
    "reserved.resale_fee_share": "probability",
    "regime.shortage_fraction": "probability",
    "regime.shortage_spell_months": "positive",
    "regime.rental_price_multiplier": "at_least_one",
    "regime.hardware_price_multiplier": "at_least_one",
    "regime.lead_time_multiplier": "at_least_one",
    "regime.spot_unavailable_fraction": "probability",
}


def prior_group(group: str) -> type:
    """The dataclass of a prior group: one :class:`PriorSpec` field per :data:`PARAMETERS` row of ``group``, its
    metadata the row's domain (``prior_group("spot")`` has ``unavailable_fraction: PriorSpec = prior(ge=0, le=1)``)."""
    fields = [(key.split(".", 1)[1], PriorSpec, prior(**DOMAINS[domain]))
              for key, domain in PARAMETERS.items() if key.split(".", 1)[0] == group]
    cls = make_dataclass(f"{group.capitalize()}Priors", fields)
    cls.__doc__, cls.__module__ = GROUP_DOCS[group], __name__
    return cls


WorkloadPriors = prior_group("workload")
MarketPriors = prior_group("market")
SpotPriors = prior_group("spot")
OwnedPriors = prior_group("owned")
OperationsPriors = prior_group("operations")
StoragePriors = prior_group("storage")
HostingPriors = prior_group("hosting")
AcademicPriors = prior_group("academic")
MarketplacePriors = prior_group("marketplace")
NotebookPriors = prior_group("notebook")
ReservedPriors = prior_group("reserved")
RegimePriors = prior_group("regime")


@dataclass
class Priors:
    workload: WorkloadPriors = field(default_factory=WorkloadPriors)
    market: MarketPriors = field(default_factory=MarketPriors)
    spot: SpotPriors = field(default_factory=SpotPriors)
    owned: OwnedPriors = field(default_factory=OwnedPriors)
    operations: OperationsPriors = field(default_factory=OperationsPriors)
    storage: StoragePriors = field(default_factory=StoragePriors)
    onprem: HostingPriors = field(default_factory=HostingPriors)
    colo: HostingPriors = field(default_factory=HostingPriors)
    academic: AcademicPriors = field(default_factory=AcademicPriors)
    marketplace: MarketplacePriors = field(default_factory=MarketplacePriors)
    notebook: NotebookPriors = field(default_factory=NotebookPriors)
    reserved: ReservedPriors = field(default_factory=ReservedPriors)
    regime: RegimePriors = field(default_factory=RegimePriors)
