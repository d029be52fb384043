"""Every scenario composes and validates; bad input becomes one line naming the key, the value and what is allowed."""

from pathlib import Path

import pytest
from conftest import error_for

from simulator.config.load import load_config

SCENARIOS = sorted(p.stem for p in (Path(__file__).parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_composes(scenario):
    cfg = load_config([f"scenario={scenario}"])
    assert cfg.strategies and cfg.description


@pytest.mark.parametrize(
    "overrides, must_contain",
    [
        (["engine.pathz=10"], ["engine.pathz"]),
        (["engine.paths=many"], ["engine.paths", "many"]),
        (["engine.paths=-5"], ["engine.paths", "-5", ">= 1"]),
        (["engine.dtype=float16"], ["engine.dtype", "float16", "float32"]),
        (
            ["providers.hyperscaler.on_demand_usd_per_gpu_hour={dist:fixed,value:-2.0}"],
            ["providers.hyperscaler.on_demand_usd_per_gpu_hour.value", "-2", ">= 0"],
        ),
        (
            ["providers.hyperscaler.spot_discount={dist:fixed,value:1.5}"],
            ["providers.hyperscaler.spot_discount.value", "1.5", "<= 1"],
        ),
        (
            ["priors.spot.unavailable_fraction.mean=1.2"],
            ["priors.spot.unavailable_fraction.mean", "1.2", "< 1"],
        ),
        (
            ["providers.hyperscaler.spot_discount={dist:lognormal,median:0.5,p90:0.7}"],
            ["providers.hyperscaler.spot_discount", "lognormal", "<= 1"],
        ),
        (["priors.owned.repair_days.p90=1.0"], ["priors.owned.repair_days.p90", ">= 3"]),
        (
            ["priors.workload.restart_hours.dist=gamma"],
            ["priors.workload.restart_hours.dist", "gamma", "lognormal"],
        ),
        (["priors.market.drift_per_year.mean=nan"], ["priors.market.drift_per_year.mean", "nan", "finite"]),
        (
            ["priors.market.hardware_usd_per_gpu={dist:uniform,low:5.0,high:1.0}"],
            ["priors.market.hardware_usd_per_gpu.high", "> low"],
        ),
        (["runs.foundation_v1.deadline_day=50"], ["runs.foundation_v1.deadline_day", "50", "start_day"]),
        (
            ["strategies.hybrid.pools.base.kind=rental"],
            ["strategies.hybrid.pools.base.kind", "rental", "owned"],
        ),
        (["strategies.hybrid.pools.base.gpus=-3"], ["strategies.hybrid.pools.base.gpus", "-3", ">= 0"]),
        (["strategies.hybrid.pools.spot.kind=owned"], ["strategies.hybrid.pools", "owned", "once"]),
        (["+foo=1"], ["foo", "unknown key", "strategies"]),
        (["+engine.speed=3"], ["engine.speed"]),
        (["scenario=nosuch"], ["scenario=nosuch", "scenarios/nosuch.yaml", "hybrid"]),
    ],
)
def test_bad_input_is_one_clear_line(overrides, must_contain):
    line = error_for(overrides)
    for text in must_contain:
        assert text in line, (text, line)


def test_valid_extremes_compose():
    cfg = load_config(
        [
            "engine.horizon_months=120",
            "priors.market.volatility_per_year={dist:fixed,value:0.0}",
            "priors.spot.unavailable_fraction={dist:fixed,value:1.0}",
        ]
    )
    assert cfg.engine.horizon_months == 120


@pytest.mark.parametrize("group", ["engine", "report", "decision"])
def test_group_defaults_are_the_schema_defaults(group):
    """``conf/GROUP/default.yaml`` sets every field of its schema, to the dataclass's default: one set of defaults.

    The YAML is where the defaults are documented; the dataclass defaults (used by code that builds a config without
    Hydra) must not drift from it.
    """
    import yaml
    from omegaconf import OmegaConf

    from simulator.config.load import CONF_DIR
    from simulator.config.schema import DecisionConfig, EngineConfig, ReportConfig

    schema = {"engine": EngineConfig, "report": ReportConfig, "decision": DecisionConfig}[group]
    assert yaml.safe_load((CONF_DIR / group / "default.yaml").read_text()) == OmegaConf.to_container(
        OmegaConf.structured(schema)
    )


def test_debug_tiny_shrinks_any_scenario():
    cfg = load_config(["scenario=breakeven", "debug=tiny", "engine.seed=3"])
    assert (cfg.engine.paths, cfg.engine.horizon_months, cfg.engine.seed) == (96, 6, 3)
    assert not cfg.report.plots and not cfg.report.print_summary
