"""Shared helpers: compose scenarios, pin priors, run the engine on small path counts."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from simulator.config.load import load_config  # noqa: E402
from simulator.config.schema import PROVIDER_PRIORS, Config, PoolConfig, PriorSpec, StrategyConfig  # noqa: E402
from simulator.config.validate import prior_median  # noqa: E402
from simulator.engine.host import build_inputs, run_paths  # noqa: E402


def daly_expected_hours(work_hours, tau, cost, restart, job_hazard):
    """Daly's expected wall time of ``work_hours`` with checkpoints every ``tau`` hours (cost ``cost``), restart
    ``restart`` hours and interruption hazard ``job_hazard`` per hour: ``(W/tau) e^{lambda R} (e^{lambda (tau + C)} - 1) / lambda``."""
    return (work_hours / tau) * np.exp(job_hazard * restart) * np.expm1(job_hazard * (tau + cost)) / job_hazard


def fixed(value: float) -> PriorSpec:
    return PriorSpec(dist="fixed", value=float(value))


def central_value(spec: PriorSpec) -> float:
    """A representative value of a prior (median, or mean for beta), to pin it."""
    return prior_median(spec)


TEST_MARKET = {  # the provider prices the exact tests are written with (round numbers, not the default catalogue's)
    "hyperscaler": dict(on_demand_usd_per_gpu_hour=5.4, spot_discount=0.6, egress_usd_per_tb=90.0),
    "marketplace": dict(on_demand_usd_per_gpu_hour=0.35 * 5.4, spot_discount=0.5, egress_usd_per_tb=5.0),
}


def pinned(cfg: Config) -> Config:
    """Every prior fixed at its central value (no epistemic draw), volatilities and hazards to zero, no market
    shortage, a good spot pool, every spot request granted; the providers' prices at :data:`TEST_MARKET`
    (hyperscaler on-demand $5.40, spot discount 0.6, egress $90/TB; marketplace $1.89)."""
    for group in dataclasses.fields(cfg.priors):
        node = getattr(cfg.priors, group.name)
        for f in dataclasses.fields(node):
            setattr(node, f.name, fixed(central_value(getattr(node, f.name))))
    for run in cfg.runs.values():
        run.gpu_hours = fixed(central_value(run.gpu_hours))
    for name, provider in cfg.providers.items():
        for field, value in TEST_MARKET.get(name, {}).items():
            setattr(provider, field, fixed(value))
        for field in PROVIDER_PRIORS:
            setattr(provider, field, fixed(central_value(getattr(provider, field))))
    quiet = dict(
        workload=("volatility_per_year", "job_interrupt_per_gpu_hour"),
        market=("volatility_per_year", "drift_per_year"),
        spot=("reclaim_per_instance_hour", "unavailable_fraction", "bad_pool_probability"),
        owned=("failure_per_gpu_hour", "lead_time_weeks"),
        marketplace=("host_failure_per_hour", "outbid_per_hour"),
        notebook=("termination_per_hour",),
        regime=("shortage_fraction",),
    )
    for group, names in quiet.items():
        for name in names:
            setattr(getattr(cfg.priors, group), name, fixed(0.0))
    cfg.priors.spot.obtain_16_probability = fixed(1.0)  # every spot request granted (a run's width is no hazard)
    return cfg


def strategy(*pools: tuple, interval: float = 1.0, **knobs) -> StrategyConfig:
    """A strategy from ``(kind, gpus[, {pool options}])`` tuples in priority order, plus strategy knobs; a pool is
    named after its kind unless its options give a ``name``."""
    built = {}
    for pool in pools:
        kind, gpus, options = pool[0], pool[1], dict(pool[2] if len(pool) > 2 else {})
        name = options.pop("name", kind)
        built[name] = PoolConfig(kind=kind, gpus=gpus, **options)
    return StrategyConfig(pools=built, checkpoint_interval_hours=interval, **knobs)


def error_for(overrides: list[str]) -> str:
    """The one-line error that loading a config with ``overrides`` raises (checked to be one line)."""
    from simulator.config.errors import error_line

    with pytest.raises(Exception) as info:
        load_config(overrides)
    line = error_line(info.value)
    assert "\n" not in line and line.startswith("config error: ")
    return line


def run_config(cfg: Config, paths: int, chunk: int | None = None, seed: int = 0):
    """Simulate ``paths`` paths of a config; returns ``(outputs, parameters, grid)``."""
    inputs, grid = build_inputs(cfg)
    outputs, parameters, _ = run_paths(inputs, grid, seed, paths, chunk or paths)
    return outputs, parameters, grid


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_engines():
    """Drop JAX's compiled executables after every test module. One pytest process compiles hundreds of engines;
    kept alive, their code mappings accumulate until XLA's compiler crashed (a segfault in a late test of the full
    suite, never in the test alone)."""
    yield
    import gc

    import jax

    jax.clear_caches()
    gc.collect()


@pytest.fixture
def hybrid() -> Config:
    return load_config(["scenario=hybrid"])


@pytest.fixture
def flat(hybrid) -> Config:
    """Pinned priors, flat 240 GPU-h/day demand, 12 months, no discounting, no runs (see test_costs)."""
    cfg = pinned(hybrid)
    cfg.engine.horizon_months = 12
    cfg.engine.discount_rate_per_year = 0.0
    cfg.runs = {}
    cfg.priors.workload.base_gpu_hours_per_day = fixed(240.0)
    cfg.priors.workload.growth_multiplier_per_year = fixed(1.0)
    return cfg
