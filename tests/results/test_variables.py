"""The table of output variables agrees with the engine's declaration of its monthly outputs, and names every kind."""

import pytest

from simulator.engine.host import TRAJECTORIES
from simulator.results.variables import VARIABLES, kind_of, parameter_variable


def test_trajectories_are_the_variables_with_a_month_axis():
    assert {name for name, v in VARIABLES.items() if "month" in v.dims} == set(TRAJECTORIES)
    assert all(v.dims[-1] == "month" and "trajectory_path" in v.dims for n, v in VARIABLES.items() if n in TRAJECTORIES)


def test_every_variable_is_labelled():
    for name, variable in VARIABLES.items():
        assert variable.units and variable.long_name and variable.description, name
        assert "path" in variable.dims or "trajectory_path" in variable.dims, name


def test_kinds():
    assert kind_of("cost") == "per-path" and kind_of("backlog") == "trajectory"
    assert kind_of("stream_cost_mean") == "streamed" and kind_of("param_market__spot_discount") == "parameter"
    with pytest.raises(KeyError):
        kind_of("costs")


def test_delay_names_the_academic_queue():
    assert "academic" in VARIABLES["delay"].description and "queue" in VARIABLES["delay"].description


def test_parameter_variables_are_named_from_the_prior():
    name, variable = parameter_variable("market.spot_discount")
    assert name == "param_market__spot_discount" and variable.dims == ("path",)


def test_cost_of_service_variables_are_labelled():
    """cost = spend + shortfall, each labelled with its formula; delivered work has its own row."""
    assert "spend + shortfall" in VARIABLES["cost"].description
    assert "delay_usd_per_gpu_hour_day" in VARIABLES["shortfall"].description
    assert "late_usd_per_day" in VARIABLES["shortfall"].description and "clearing_gpus" in VARIABLES["delay"].description
    for name in ("spend", "shortfall"):
        assert VARIABLES[name].dims == ("strategy", "path") and VARIABLES[name].units == "USD"
    assert VARIABLES["delivered_gpu_hours"].units == "GPU-hours"


def test_category_group_coordinate():
    """Every category is labelled spend or shortfall, the shortfall ones being SHORTFALL_CATEGORIES."""
    import numpy as np

    from simulator.engine.host import Simulation
    from simulator.engine.inputs import Grid
    from simulator.engine.strategies import COST_CATEGORIES, SHORTFALL_CATEGORIES
    from simulator.results.dataset import _coordinates

    outputs = dict(cost=np.zeros((3, 1)), cumulative_cost=np.zeros((2, 1, 2)))
    sim = Simulation(outputs, {}, Grid(2, 30), ["s"], [], 0.0, 0.0)
    dims, groups, _ = _coordinates(sim, [])["category_group"]
    assert dims == "category" and len(groups) == len(COST_CATEGORIES)
    assert {c for c, g in zip(COST_CATEGORIES, groups, strict=True) if g == "shortfall"} == set(SHORTFALL_CATEGORIES)
    assert set(groups) == {"spend", "shortfall"}
