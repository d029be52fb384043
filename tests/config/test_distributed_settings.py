"""The multi-host settings (``engine.distributed`` and its three explicit keys) fail with one line each."""

from __future__ import annotations

import pytest

from simulator.config.errors import error_line
from simulator.config.load import load_config

BASE = ["scenario=hybrid", "debug=tiny"]


@pytest.mark.parametrize("overrides, line", [
    (["engine.process_id=1"], "engine.process_id = 1: only read with engine.distributed=true"),
    (["engine.coordinator_address=node1:29500"],
     "engine.coordinator_address = 'node1:29500': only read with engine.distributed=true"),
    (["engine.distributed=true", "engine.num_processes=2", "engine.process_id=2"],
     "engine.process_id = 2: must be < engine.num_processes (2)"),
    (["engine.distributed=true", "engine.num_processes=0"], "engine.num_processes = 0: must be >= 1"),
])
def test_bad_distributed_settings_are_one_line(overrides, line):
    with pytest.raises(Exception) as info:
        load_config(BASE + overrides)
    assert line in error_line(info.value)


def test_distributed_settings_default_to_the_environment():
    engine = load_config(BASE + ["engine.distributed=true"]).engine
    assert engine.distributed and (engine.coordinator_address, engine.num_processes, engine.process_id) == (None,) * 3
    assert not load_config(BASE).engine.distributed
