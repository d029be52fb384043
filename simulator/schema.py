"""Typed schema of the whole configuration (Hydra structured configs).

The dataclasses below are registered in Hydra's ``ConfigStore`` as ``schema``; ``conf/config.yaml`` lists it first in
its defaults, so every YAML file and every command-line override is merged onto a typed node. OmegaConf then rejects
unknown keys and wrong types at composition time; :mod:`simulator.validate` adds the range checks (``field`` metadata
``ge``/``gt``/``le``/``lt``/``choices``) and the per-distribution checks of every prior.

Only :mod:`simulator.validate` and the entry point read these objects; nothing below them sees a ``DictConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

POOL_KINDS = ("owned", "on_demand", "spot")
DISTRIBUTIONS = ("fixed", "uniform", "normal", "lognormal", "beta")


def bounded(default: Any = None, **limits: Any) -> Any:
    """A dataclass field with range metadata (``ge``, ``gt``, ``le``, ``lt``, ``choices``) checked at start-up."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default, metadata=limits)
    return field(default=default, metadata=limits)


@dataclass
class PriorSpec:
    """One uncertain parameter: a distribution and its parameters.

    ``fixed(value)``, ``uniform(low, high)``, ``normal(mean, sd)``, ``lognormal(median, p90)``, ``beta(mean, sd)``.
    Only the parameters of the chosen distribution may be given.
    """

    dist: str = bounded("fixed", choices=DISTRIBUTIONS)
    value: float | None = None
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    p90: float | None = None


def prior(**domain: Any) -> Any:
    """Field holding a ``PriorSpec``; ``domain`` (``ge``, ``gt``, ``le``, ``lt``) bounds the parameter's support.

    The defaults live in ``conf/priors/default.yaml``; an empty spec here fails validation if a file omits it.
    """
    return field(default_factory=PriorSpec, metadata=domain)


@dataclass
class WorkloadPriors:
    base_gpu_hours_per_day: PriorSpec = prior(ge=0.0)
    growth_multiplier_per_year: PriorSpec = prior(gt=0.0)
    volatility_per_year: PriorSpec = prior(ge=0.0)
    checkpoint_cost_hours: PriorSpec = prior(ge=0.0)
    restart_hours: PriorSpec = prior(ge=0.0)


@dataclass
class MarketPriors:
    drift_per_year: PriorSpec = prior(ge=-10.0, le=10.0)
    volatility_per_year: PriorSpec = prior(ge=0.0)
    on_demand_usd_per_gpu_hour: PriorSpec = prior(ge=0.0)
    spot_discount: PriorSpec = prior(ge=0.0, le=1.0)
    hardware_usd_per_gpu: PriorSpec = prior(ge=0.0)
    electricity_usd_per_kwh: PriorSpec = prior(ge=0.0)
    loading_on_demand: PriorSpec = prior(ge=-5.0, le=5.0)
    loading_spot: PriorSpec = prior(ge=-5.0, le=5.0)
    loading_hardware: PriorSpec = prior(ge=-5.0, le=5.0)


@dataclass
class SpotPriors:
    reclaim_per_instance_hour: PriorSpec = prior(ge=0.0)
    unavailable_fraction: PriorSpec = prior(ge=0.0, le=1.0)
    unavailable_spell_days: PriorSpec = prior(gt=0.0)
    gpus_per_instance: PriorSpec = prior(ge=1.0)


@dataclass
class OwnedPriors:
    failure_per_gpu_hour: PriorSpec = prior(ge=0.0)
    repair_days: PriorSpec = prior(gt=0.0)
    lead_time_weeks: PriorSpec = prior(ge=0.0)
    kw_per_gpu: PriorSpec = prior(ge=0.0)
    idle_power_fraction: PriorSpec = prior(ge=0.0, le=1.0)
    pue: PriorSpec = prior(ge=1.0)
    facility_usd_per_kw_month: PriorSpec = prior(ge=0.0)
    fte_per_100_gpus: PriorSpec = prior(ge=0.0)
    min_fte: PriorSpec = prior(ge=0.0)
    staff_usd_per_fte_year: PriorSpec = prior(ge=0.0)
    resale_retention_per_year: PriorSpec = prior(ge=0.0, le=1.0)


@dataclass
class Priors:
    workload: WorkloadPriors = field(default_factory=WorkloadPriors)
    market: MarketPriors = field(default_factory=MarketPriors)
    spot: SpotPriors = field(default_factory=SpotPriors)
    owned: OwnedPriors = field(default_factory=OwnedPriors)


@dataclass
class PoolConfig:
    """A capacity pool of a strategy. ``gpus`` is the owned fleet size or the rental quota (max GPUs at once)."""

    kind: str = bounded("on_demand", choices=POOL_KINDS)
    gpus: int = bounded(0, ge=0, le=1_000_000)


@dataclass
class StrategyConfig:
    """A strategy: pools in priority order (the mapping order) and its policy knobs."""

    description: str = ""
    pools: dict[str, PoolConfig] = field(default_factory=dict)
    checkpoint_interval_hours: float = bounded(1.0, gt=0.0, le=10_000.0)


@dataclass
class RunConfig:
    """A named training run: total work, width, start and deadline (days from the start of the horizon)."""

    gpu_hours: PriorSpec = prior(gt=0.0)
    gpus: int = bounded(8, ge=1, le=1_000_000)
    start_day: float = bounded(0.0, ge=0.0)
    deadline_day: float = bounded(30.0, gt=0.0)


@dataclass
class EngineConfig:
    paths: int = bounded(10_000, ge=1, le=1_000_000_000)
    chunk_size: int = bounded(10_000, ge=1, le=10_000_000)
    seed: int = bounded(0, ge=0, le=2**31 - 1)
    horizon_months: int = bounded(36, ge=1, le=600)
    step_days: float = bounded(1.0, gt=0.0, le=31.0)
    discount_rate_per_year: float = bounded(0.1, ge=0.0, le=1.0)
    dtype: str = bounded("float32", choices=("float32", "float64"))


@dataclass
class ReportConfig:
    plots: bool = True
    print_summary: bool = True
    trajectory_paths: int = bounded(2000, ge=0)
    quantiles: list[float] = bounded([0.05, 0.5, 0.95])


@dataclass
class Config:
    scenario: str = ""
    description: str = ""
    strategies: dict[str, StrategyConfig] = field(default_factory=dict)
    runs: dict[str, RunConfig] = field(default_factory=dict)
    priors: Priors = field(default_factory=Priors)
    engine: EngineConfig = field(default_factory=EngineConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


def register() -> None:
    """Register the schema in Hydra's ConfigStore (idempotent)."""
    ConfigStore.instance().store(name="schema", node=Config)
