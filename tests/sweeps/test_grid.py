"""Grids over several knobs and several sweeps of one strategy: expansion, one-line errors, and the Dataset's knob
dimensions (kept and streamed runs agree on the optimum)."""

import dataclasses

import numpy as np
import pytest

from simulator.config.errors import ConfigError
from simulator.config.schema import SweepConfig
from simulator.config.sweeps import MAX_VARIANTS, expand_sweeps, sweep_labels

GRID = {"pools.base.gpus": [0, 16, 32], "expansion.gpus": [8, 16]}


def test_two_knobs_and_two_sweeps_of_one_strategy(hybrid):
    names = list(hybrid.strategies)
    hybrid.sweeps = {"grid": SweepConfig(strategy="hybrid", knobs=GRID),
                     "interval": SweepConfig(strategy="hybrid", knob="checkpoint_interval_hours", values=[0.5, 2])}
    cfg = expand_sweeps(hybrid)
    grid = [f"hybrid@pools.base.gpus={b},expansion.gpus={e}" for b in (0, 16, 32) for e in (8, 16)]
    interval = ["hybrid@checkpoint_interval_hours=0.5", "hybrid@checkpoint_interval_hours=2"]
    at = names.index("hybrid")
    assert list(cfg.strategies) == names[:at] + grid + interval + names[at + 1:]  # in the strategy's position
    variant = cfg.strategies["hybrid@pools.base.gpus=16,expansion.gpus=8"]
    assert variant.pools["base"].gpus == 16 and variant.expansion.gpus == 8
    assert variant.checkpoint_interval_hours == hybrid.strategies["hybrid"].checkpoint_interval_hours  # own config
    assert cfg.strategies["hybrid@checkpoint_interval_hours=2"].pools["base"].gpus == hybrid.strategies[
        "hybrid"].pools["base"].gpus
    assert sweep_labels(hybrid.sweeps["grid"]) == grid


def test_duplicate_variants_of_two_sweeps_are_simulated_once(hybrid):
    hybrid.sweeps = {"a": SweepConfig(strategy="hybrid", knob="pools.base.gpus", values=[0, 16]),
                     "b": SweepConfig(strategy="hybrid", knob="pools.base.gpus", values=[16, 32])}
    swept = [s for s in expand_sweeps(hybrid).strategies if s.startswith("hybrid")]
    assert swept == ["hybrid@pools.base.gpus=0", "hybrid@pools.base.gpus=16", "hybrid@pools.base.gpus=32"]


def test_a_knob_may_index_a_list(hybrid):
    @dataclasses.dataclass
    class Orders:
        order_gpus: list

    @dataclasses.dataclass
    class Holder:
        strategies: dict
        sweeps: dict

    cfg = Holder({"buy": Orders([8, 8, 8])},
                 {"o": SweepConfig(strategy="buy", knobs={"order_gpus.1": [0, 16]})})
    out = expand_sweeps(cfg).strategies
    assert [s.order_gpus for s in out.values()] == [[8, 0, 8], [8, 16, 8]]
    assert list(out) == ["buy@order_gpus.1=0", "buy@order_gpus.1=16"]
    cfg.sweeps = {"o": SweepConfig(strategy="buy", knobs={"order_gpus.3": [1]})}
    with pytest.raises(ConfigError, match="no such setting"):
        expand_sweeps(cfg)


@pytest.mark.parametrize("sweep, message", [
    (SweepConfig(strategy="hybrid", knobs={"pools.base.nosuch": [1]}), r"sweeps.x.knobs = 'pools.base.nosuch': no such"),
    (SweepConfig(strategy="hybrid", knobs={"pools.base.gpus": []}), r"sweeps.x.knobs.pools.base.gpus is empty"),
    (SweepConfig(strategy="hybrid", knob="pools.base.gpus", values=[]), r"sweeps.x.values is empty"),
    (SweepConfig(strategy="hybrid"), r"sweeps.x.knobs is empty"),
    (SweepConfig(strategy="hybrid", knobs={"pools.base.gpus": [1, 1]}), r"each value once"),
    (SweepConfig(strategy="hybrid", knob="pools.base.gpus", values=[1], knobs={"expansion.gpus": [1]}),
     r"either knob and values or knobs"),
    (SweepConfig(strategy="hybrid", knobs={"pools.base.gpus": [1], "expansion.gpus": [1],
                                            "expansion.months_above": [1], "checkpoint_interval_hours": [1]}),
     r"4 knobs: at most 3"),
    (SweepConfig(strategy="hybrid", knobs={"pools.base.gpus": list(range(20)), "expansion.gpus": list(range(20))}),
     rf"400 variants: at most {MAX_VARIANTS}"),
    (SweepConfig(strategy="hybrid", knobs={"pools.base.gpus": [1.5]}), r"whole numbers"),
    (SweepConfig(strategy="hybrid", knobs={"pools.base.kind": [1]}), r"numeric setting"),
])
def test_bad_grids_are_one_line_errors(hybrid, sweep, message):
    hybrid.sweeps = {"x": sweep}
    with pytest.raises(ConfigError, match=message) as info:
        expand_sweeps(hybrid)
    assert "\n" not in str(info.value)


def test_grid_dataset_kept_and_streamed():
    """A 3 x 2 grid and a second sweep of the same strategy: ``sweep_<name>_cost`` has dims (knob, knob, path) in
    grid order; a streamed run (first paths kept) reports the same optimum, objectives and margins over all paths."""
    from simulator.config.load import load_config
    from simulator.decision.outcomes import outcomes_of
    from simulator.engine.host import simulate
    from simulator.results.dataset import build_dataset
    from simulator.sweeps.knobs import sweep_dataset
    from simulator.sweeps.optimum import sweep_optima
    from simulator.sweeps.sweep_report import optimum_dataset

    sweeps = {"grid": SweepConfig(strategy="hybrid", knobs={"pools.base.gpus": [0, 16, 32], "expansion.gpus": [0, 8]}),
              "size": SweepConfig(strategy="hybrid", knob="pools.base.gpus", values=[8, 16])}
    results = []
    for extra in ([], ["report.path_level_paths=64"]):
        cfg = load_config(["scenario=hybrid", "engine.paths=256", "engine.chunk_size=128", "engine.horizon_months=4",
                           *extra])
        cfg = expand_sweeps(dataclasses.replace(cfg, strategies={k: cfg.strategies[k] for k in ("spot", "hybrid")},
                                                sweeps=sweeps))
        ds = build_dataset(simulate(cfg), seed=0, resolved_config="", scenario="t", run_deadlines=[180.0])
        ds = sweep_dataset(ds, cfg.sweeps)
        optima = sweep_optima(outcomes_of(ds), cfg.sweeps, cfg.decision)
        results.append((optimum_dataset(ds, cfg.sweeps, optima), optima))
    (full, exact), (streamed, approx) = results
    assert streamed.sizes["path"] == 64 and streamed.attrs["paths"] == 256
    cost = full["sweep_grid_cost"]
    # pools.base.gpus has other values in the other sweep: each sweep's dimension is prefixed with its name
    assert cost.dims == ("grid:pools.base.gpus", "expansion.gpus", "path") and cost.shape == (3, 2, 256)
    assert list(cost["grid:pools.base.gpus"].values) == [0, 16, 32]
    np.testing.assert_array_equal(cost.sel({"grid:pools.base.gpus": 16, "expansion.gpus": 8}).values,
                                  full["cost"].sel(strategy="hybrid@pools.base.gpus=16,expansion.gpus=8").values)
    assert full["sweep_size_cost"].dims == ("size:pools.base.gpus", "path")
    assert full["sweep_grid_objective"].dims == ("grid:pools.base.gpus", "expansion.gpus")
    assert streamed["sweep_grid_cost"].shape == (3, 2, 64)
    for name in ("grid", "size"):
        assert approx[name].best == exact[name].best
        np.testing.assert_allclose(approx[name].objective, exact[name].objective, rtol=1e-6)
        np.testing.assert_allclose(approx[name].margin_se, exact[name].margin_se, rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(approx[name].within_noise, exact[name].within_noise)
        assert full.attrs[f"sweep_{name}_optimum"] == streamed.attrs[f"sweep_{name}_optimum"]


def test_a_scenario_file_declares_a_grid(tmp_path):
    """``knobs`` in YAML: dotted knob paths as keys, whole numbers for a float list (OmegaConf), two sweeps."""
    from simulator.config.load import load_config

    (tmp_path / "scenario").mkdir()
    (tmp_path / "scenario" / "grid_test.yaml").write_text(
        "# @package _global_\ndefaults:\n  - /strategy@strategies.hybrid: hybrid\nscenario: grid_test\nsweeps:\n"
        "  grid: {strategy: hybrid, knobs: {pools.base.gpus: [0, 16], expansion.utilisation_threshold: [0.7, 1]}}\n"
        "  size: {strategy: hybrid, knob: pools.base.gpus, values: [8]}\n")
    cfg = load_config([f"hydra.searchpath=[file://{tmp_path}]", "scenario=grid_test"])
    assert list(cfg.strategies) == [
        "hybrid@pools.base.gpus=0,expansion.utilisation_threshold=0.7",
        "hybrid@pools.base.gpus=0,expansion.utilisation_threshold=1",
        "hybrid@pools.base.gpus=16,expansion.utilisation_threshold=0.7",
        "hybrid@pools.base.gpus=16,expansion.utilisation_threshold=1", "hybrid@pools.base.gpus=8"]
    assert cfg.strategies["hybrid@pools.base.gpus=16,expansion.utilisation_threshold=1"].expansion.\
        utilisation_threshold == 1.0
