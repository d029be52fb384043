"""In-engine sweeps of one knob: the values expand into strategy variants run in one compiled program; bad sweeps
are one-line errors. (The optimum under the decision, the newsvendor closed form, grids and streamed runs:
``test_optimum.py`` and ``test_grid.py``.)"""

import pytest
from conftest import strategy

from simulator.config.errors import ConfigError
from simulator.config.schema import SweepConfig
from simulator.config.sweeps import expand_sweeps

VALUES = [0, 4, 8, 12, 16, 20, 24, 32]


def test_sweep_expands_to_variants(hybrid):
    hybrid.strategies = {"spot": hybrid.strategies["spot"], "hybrid": strategy(("owned", 0), ("on_demand", 4096))}
    hybrid.sweeps = {"base": SweepConfig(strategy="hybrid", knob="pools.owned.gpus", values=VALUES)}
    expanded = expand_sweeps(hybrid)
    assert list(expanded.strategies) == ["spot"] + [f"hybrid@pools.owned.gpus={v}" for v in VALUES]
    assert [s.pools["owned"].gpus for s in list(expanded.strategies.values())[1:]] == VALUES


def test_bad_sweeps_are_one_line_errors(hybrid):
    hybrid.sweeps = {"x": SweepConfig(strategy="nosuch", knob="pools.base.gpus", values=[1])}
    with pytest.raises(ConfigError, match="sweeps.x.strategy"):
        expand_sweeps(hybrid)
    hybrid.sweeps = {"x": SweepConfig(strategy="hybrid", knob="pools.nosuch.gpus", values=[1])}
    with pytest.raises(ConfigError, match="sweeps.x.knob"):
        expand_sweeps(hybrid)
    hybrid.sweeps = {"x": SweepConfig(strategy="hybrid", knob="pools.base.gpus", values=[1.5])}
    with pytest.raises(ConfigError, match="whole numbers"):
        expand_sweeps(hybrid)
