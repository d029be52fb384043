"""Valid but extreme inputs give finite results in every output variable, or a clear one-line error; never NaN/inf.

One compiled engine serves every case: the ``all`` scenario cut to five strategies that hold every pool kind (owned
on premises with expansions and a capex budget, colocation, spot, on-demand, marketplace in both tiers, academic
centre, notebooks), a 10-year horizon, every prior pinned to a ``fixed`` value (distribution families are static in
the engine; values are arguments, so a case changes numbers only and never recompiles). Each case is validated
first (it is a valid configuration), run on 64 paths, labelled by :func:`simulator.results.build_dataset`, and
every data variable of the Dataset is scanned.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from conftest import fixed, pinned

from simulator.config.errors import ConfigError, SimulationOverflow, error_line
from simulator.config.load import load_config
from simulator.config.validate import check
from simulator.engine.host import simulate
from simulator.results.dataset import build_dataset

STRATEGIES = ("steady", "colocation", "bootstrap", "academic", "marketplace_interruptible")
PATHS = 64


@pytest.fixture(scope="module")
def base():
    cfg = pinned(load_config(["scenario=all", "engine.horizon_months=120"]))
    cfg.strategies = {name: cfg.strategies[name] for name in STRATEGIES}
    cfg.engine.paths = cfg.engine.chunk_size = cfg.report.trajectory_paths = PATHS
    return cfg


def _with(base, settings: dict) -> object:
    cfg = copy.deepcopy(base)
    for dotted, value in settings.items():
        *parents, name = dotted.split(".")
        node = cfg
        for part in parents:
            node = node[part] if isinstance(node, dict) else getattr(node, part)
        setattr(node, name, fixed(value) if parents[0] in ("priors", "providers") else value)
    check(cfg)  # the case is a valid configuration
    return cfg


def _dataset(cfg):
    sim = simulate(cfg)
    return sim, build_dataset(
        sim,
        seed=0,
        resolved_config="",
        scenario="extreme",
        run_deadlines=[r.deadline_day for r in cfg.runs.values()],
    )


EXTREMES = {
    "ten_years": {},
    "growth_10x_a_year": {"priors.workload.growth_multiplier_per_year": 10.0},
    "growth_1000x_a_year": {
        "priors.workload.growth_multiplier_per_year": 1000.0,
        "priors.workload.volatility_per_year": 2.0,
    },
    "growth_a_million_x_a_year": {"priors.workload.growth_multiplier_per_year": 1e6},
    "demand_shrinks_to_nothing": {"priors.workload.growth_multiplier_per_year": 1e-9},
    "no_demand": {"priors.workload.base_gpu_hours_per_day": 0.0},
    "huge_demand": {"priors.workload.base_gpu_hours_per_day": 1e30},
    "zero_volatility": {"priors.workload.volatility_per_year": 0.0, "priors.market.volatility_per_year": 0.0},
    "wild_volatility": {
        "priors.workload.volatility_per_year": 10.0,
        "priors.market.volatility_per_year": 10.0,
    },
    "prices_explode": {
        "priors.market.drift_per_year": 10.0,
        "priors.market.loading_hardware": 5.0,
        "priors.market.loading_on_demand": 5.0,
        "priors.market.loading_marketplace": -5.0,
    },
    "prices_collapse": {
        "priors.market.drift_per_year": -10.0,
        "priors.market.loading_spot": 5.0,
        "priors.market.loading_hardware": -5.0,
    },
    "prices_near_zero": {
        "providers.hyperscaler.on_demand_usd_per_gpu_hour": 1e-9,
        "priors.market.hardware_usd_per_gpu": 1e-9,
        "priors.market.electricity_usd_per_kwh": 0.0,
        "providers.hyperscaler.egress_usd_per_tb": 0.0,
        "providers.marketplace.egress_usd_per_tb": 0.0,
        "priors.notebook.monthly_fee_usd": 0.0,
    },
    "spot_reclaimed_every_hour": {
        "priors.spot.reclaim_per_instance_hour": 1.0,
        "priors.marketplace.host_failure_per_hour": 1.0,
        "priors.marketplace.outbid_per_hour": 1.0,
        "priors.notebook.termination_per_hour": 1.0,
    },
    "everything_interrupted_at_once": {
        "priors.spot.reclaim_per_instance_hour": 1e6,
        "priors.marketplace.host_failure_per_hour": 1e6,
        "priors.notebook.termination_per_hour": 1e6,
    },
    "spot_never_available": {
        "priors.spot.unavailable_fraction": 1.0,
        "priors.spot.unavailable_spell_days": 1e-6,
    },
    "every_gpu_failing": {"priors.owned.failure_per_gpu_hour": 1000.0, "priors.owned.repair_days": 1e6},
    "no_resale_value": {"priors.owned.resale_retention_per_year": 0.0},
    "hardware_never_arrives": {"priors.owned.lead_time_weeks": 1e6},
    "checkpoints_take_forever": {
        "priors.workload.checkpoint_cost_hours": 1e6,
        "priors.workload.restart_hours": 1e6,
    },
    "academic_queue_and_walltime": {
        "priors.academic.queue_wait_days": 1e6,
        "priors.academic.walltime_hours": 1e-6,
        "priors.academic.partnership_probability": 1.0,
        "priors.academic.acceptance_probability": 1.0,
    },
    "notebook_sessions_vanish": {
        "priors.notebook.session_hours": 1e-6,
        "priors.notebook.units_per_gpu_hour": 1e6,
    },
    "discount_100_percent": {"engine.discount_rate_per_year": 1.0},
}


@pytest.mark.parametrize("case", list(EXTREMES))
def test_extreme_priors_give_finite_outputs(base, case):
    _, ds = _dataset(_with(base, EXTREMES[case]))
    for name, var in ds.data_vars.items():
        assert np.isfinite(var.values.astype(float)).all(), f"{case}: {name} has NaN or inf"
    assert ds.sizes["path"] == PATHS and ds.sizes["month"] == 120


def test_extremes_behave(base):
    """A few sanity checks on the extremes above, beyond finiteness."""
    _, failing = _dataset(_with(base, EXTREMES["every_gpu_failing"]))
    assert (failing["owned_failures"].sel(strategy="colocation") > 0).all()
    _, exploding = _dataset(_with(base, EXTREMES["prices_explode"]))
    assert (exploding["price_index"].isel(month=-1) > 1e6).all()  # the index moved as far as float32 allows
    _, no_resale = _dataset(_with(base, EXTREMES["no_resale_value"]))
    residual = no_resale["cash_by_category"].sel(category="residual")
    assert (residual <= 0).all() and (residual > -1.0).all()  # ~worthless after ten years, and no NaN


def test_overflow_beyond_the_guards_is_a_clear_error(base):
    """Magnitudes no model state can carry (1e37 USD per GPU-hour) stop with one line, not NaN in results.nc."""
    cfg = _with(base, {"providers.hyperscaler.on_demand_usd_per_gpu_hour": 1e37})
    with pytest.raises(SimulationOverflow) as info:
        _dataset(cfg)
    line = error_line(info.value)
    assert line.startswith("simulation error: ") and not isinstance(info.value, ConfigError)
    assert "\n" not in line and "overflowed" in line and "cost" in line and "bootstrap" in line, line


@pytest.mark.slow
def test_fifty_year_horizon():
    """The longest horizon the schema allows (600 months), with the extremes that compound over time."""
    cfg = pinned(load_config(["scenario=all", "engine.horizon_months=600"]))
    cfg.strategies = {name: cfg.strategies[name] for name in STRATEGIES}
    cfg.engine.paths = cfg.engine.chunk_size = cfg.report.trajectory_paths = PATHS
    for case in ("growth_10x_a_year", "prices_explode", "no_resale_value"):
        _, ds = _dataset(_with(cfg, EXTREMES[case]))
        for name, var in ds.data_vars.items():
            assert np.isfinite(var.values.astype(float)).all(), f"{case}: {name} has NaN or inf"


def test_the_cases_share_one_compiled_engine(base):
    """The extremes change numbers only: the prior table's structure is that of the pinned base."""
    import jax

    from simulator.engine.priors import prior_table

    structure = jax.tree_util.tree_structure(prior_table(base))
    for settings in EXTREMES.values():
        assert jax.tree_util.tree_structure(prior_table(_with(base, settings))) == structure
    assert all(dataclasses.is_dataclass(s) for s in base.strategies.values())
