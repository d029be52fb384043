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
