"""Typed schema of the priors: one dataclass per group, one ``PriorSpec`` per uncertain parameter.

A prior field's metadata (``ge``/``gt``/``le``/``lt``) is the parameter's domain: :mod:`simulator.config.validate` checks
that the whole support of the chosen distribution lies in it, and :mod:`simulator.engine.priors` clips draws to it.
Defaults live in ``conf/priors/default.yaml`` with their sources; an empty spec here fails validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


PROBABILITY = dict(ge=0.0, le=1.0)
NONNEGATIVE = dict(ge=0.0)
POSITIVE = dict(gt=0.0)
LOADING = dict(ge=-5.0, le=5.0)


@dataclass
class WorkloadPriors:
    base_gpu_hours_per_day: PriorSpec = prior(**NONNEGATIVE)
    light_fraction: PriorSpec = prior(**PROBABILITY)
    growth_multiplier_per_year: PriorSpec = prior(**POSITIVE)
    volatility_per_year: PriorSpec = prior(**NONNEGATIVE)
    checkpoint_cost_hours: PriorSpec = prior(**NONNEGATIVE)
    restart_hours: PriorSpec = prior(**NONNEGATIVE)
    data_tb_per_1000_gpu_hours: PriorSpec = prior(**NONNEGATIVE)
    checkpoint_tb: PriorSpec = prior(**NONNEGATIVE)
    migration_usd: PriorSpec = prior(**NONNEGATIVE)


@dataclass
class MarketPriors:
    drift_per_year: PriorSpec = prior(ge=-10.0, le=10.0)
    volatility_per_year: PriorSpec = prior(**NONNEGATIVE)
    on_demand_usd_per_gpu_hour: PriorSpec = prior(**NONNEGATIVE)
    spot_discount: PriorSpec = prior(**PROBABILITY)
    hardware_usd_per_gpu: PriorSpec = prior(**NONNEGATIVE)
    electricity_usd_per_kwh: PriorSpec = prior(**NONNEGATIVE)
    egress_usd_per_tb: PriorSpec = prior(**NONNEGATIVE)
    loading_on_demand: PriorSpec = prior(**LOADING)
    loading_spot: PriorSpec = prior(**LOADING)
    loading_marketplace: PriorSpec = prior(**LOADING)
    loading_hardware: PriorSpec = prior(**LOADING)


@dataclass
class SpotPriors:
    reclaim_per_instance_hour: PriorSpec = prior(**NONNEGATIVE)
    unavailable_fraction: PriorSpec = prior(**PROBABILITY)
    unavailable_spell_days: PriorSpec = prior(**POSITIVE)
    gpus_per_instance: PriorSpec = prior(ge=1.0)


@dataclass
class OwnedPriors:
    """The hardware itself, wherever it is hosted."""

    failure_per_gpu_hour: PriorSpec = prior(**NONNEGATIVE)
    repair_days: PriorSpec = prior(**POSITIVE)
    lead_time_weeks: PriorSpec = prior(**NONNEGATIVE)
    kw_per_gpu: PriorSpec = prior(**NONNEGATIVE)
    idle_power_fraction: PriorSpec = prior(**PROBABILITY)
    staff_usd_per_fte_year: PriorSpec = prior(**NONNEGATIVE)
    resale_retention_per_year: PriorSpec = prior(**PROBABILITY)


@dataclass
class HostingPriors:
    """Where owned servers live: own premises (``onprem``) or a rented colocation rack (``colo``)."""

    pue: PriorSpec = prior(ge=1.0)
    facility_usd_per_kw_month: PriorSpec = prior(**NONNEGATIVE)
    fte_per_100_gpus: PriorSpec = prior(**NONNEGATIVE)
    min_fte: PriorSpec = prior(**NONNEGATIVE)
    fixed_usd_per_month: PriorSpec = prior(**NONNEGATIVE)


@dataclass
class AcademicPriors:
    partnership_probability: PriorSpec = prior(**PROBABILITY)
    admin_lead_days: PriorSpec = prior(**NONNEGATIVE)
    first_allocation_day: PriorSpec = prior(**NONNEGATIVE)
    application_lead_days: PriorSpec = prior(**NONNEGATIVE)
    acceptance_probability: PriorSpec = prior(**PROBABILITY)
    allocation_gpus: PriorSpec = prior(**NONNEGATIVE)
    usable_fraction: PriorSpec = prior(**PROBABILITY)
    opportunistic_gpus: PriorSpec = prior(**NONNEGATIVE)
    queue_wait_days: PriorSpec = prior(**NONNEGATIVE)
    walltime_hours: PriorSpec = prior(gt=0.0)
    usd_per_gpu_hour: PriorSpec = prior(**NONNEGATIVE)
    partnership_usd_per_year: PriorSpec = prior(**NONNEGATIVE)


@dataclass
class MarketplacePriors:
    price_ratio: PriorSpec = prior(**NONNEGATIVE)
    interruptible_discount: PriorSpec = prior(**PROBABILITY)
    host_failure_per_hour: PriorSpec = prior(**NONNEGATIVE)
    outbid_per_hour: PriorSpec = prior(**NONNEGATIVE)
    gpus_per_host: PriorSpec = prior(ge=1.0)
    bandwidth_usd_per_tb: PriorSpec = prior(**NONNEGATIVE)


@dataclass
class NotebookPriors:
    monthly_fee_usd: PriorSpec = prior(**NONNEGATIVE)
    included_units: PriorSpec = prior(**NONNEGATIVE)
    usd_per_unit: PriorSpec = prior(**NONNEGATIVE)
    units_per_gpu_hour: PriorSpec = prior(**NONNEGATIVE)
    session_hours: PriorSpec = prior(gt=0.0)
    termination_per_hour: PriorSpec = prior(**NONNEGATIVE)


@dataclass
class Priors:
    workload: WorkloadPriors = field(default_factory=WorkloadPriors)
    market: MarketPriors = field(default_factory=MarketPriors)
    spot: SpotPriors = field(default_factory=SpotPriors)
    owned: OwnedPriors = field(default_factory=OwnedPriors)
    onprem: HostingPriors = field(default_factory=HostingPriors)
    colo: HostingPriors = field(default_factory=HostingPriors)
    academic: AcademicPriors = field(default_factory=AcademicPriors)
    marketplace: MarketplacePriors = field(default_factory=MarketplacePriors)
    notebook: NotebookPriors = field(default_factory=NotebookPriors)
