"""Valid but hopeless input (simulator/config/warnings.py): one WARNING line each, naming the key; the config is still
returned (the run goes on)."""

import logging

import pytest

from simulator.config.load import load_config


def warnings_of(caplog, overrides):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="simulator.config"):
        config = load_config(overrides)
    assert config.strategies  # validated and returned: a warning never stops the run
    return [r.getMessage() for r in caplog.records if r.name == "simulator.config"]


@pytest.mark.parametrize("scenario", ["hybrid", "bootstrap", "breakeven"])
def test_shipped_scenarios_give_no_warning(caplog, scenario):
    assert warnings_of(caplog, [f"scenario={scenario}"]) == []


def test_a_run_wider_than_every_pool_that_serves_runs(caplog):
    lines = warnings_of(caplog, ["scenario=hybrid", "runs.foundation_v1.gpus=9000"])
    # every strategy's widest pool has 8192 GPUs, except the owned ones that can grow (expansion)
    assert lines and all(line.startswith("runs.foundation_v1.gpus = 9000: wider than every pool of strategies.")
                         and "8192 GPUs" in line for line in lines)
    assert any("strategies.on_demand " in line for line in lines)
    assert warnings_of(caplog, ["scenario=hybrid", "runs.foundation_v1.gpus=8192"]) == []  # fits exactly


def test_a_strategy_with_no_pool_for_some_of_its_work(caplog):
    lines = warnings_of(caplog, ["scenario=hybrid", "strategies.spot.pools.spot.serves=[light]",
                                 "strategies.spot.pools.fallback.serves=[light]"])
    assert lines == [line for line in lines if line.startswith("strategies.spot: no pool serves heavy or runs work")]
    assert len(lines) == 1
    fixed_light = ["priors.workload.light_fraction={dist: fixed, value: 0.0}"]  # no light work: nothing to serve
    assert warnings_of(caplog, ["scenario=hybrid", "strategies.spot.pools.spot.serves=[heavy,runs]",
                                "strategies.spot.pools.fallback.serves=[heavy,runs]", *fixed_light]) == []


def test_an_empty_mapping_override_changes_nothing_and_says_so(caplog):
    lines = warnings_of(caplog, ["scenario=hybrid", "priors.spot={}"])
    assert len(lines) == 1 and lines[0].startswith("priors.spot={}: an empty mapping merges as a no-op")
    assert warnings_of(caplog, ["scenario=hybrid", "engine.seed=0"]) == []  # a value equal to the default: silent


def test_no_warning_when_asked_not_to(caplog):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="simulator.config"):
        load_config(["scenario=hybrid", "priors.spot={}"], warn=False)
    assert not [r for r in caplog.records if r.name == "simulator.config"]
