"""``engine.prng``: philox4x32 keeps the chunk-size guarantee of the default threefry, draws other numbers from the
same distributions, and a bad value is a one-line config error. On several devices it does not run yet (a JAX
limitation under shard_map, the xfail below)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from simulator.config.errors import ConfigError
from simulator.config.load import load_config
from simulator.engine.host import build_inputs, root_key, run_paths

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["scenario=hybrid", "engine.horizon_months=4"]


@pytest.fixture(autouse=True)
def restore_prng():
    """build_inputs sets JAX's default PRNG from engine.prng: put back the one the session had."""
    before = jax.config.jax_default_prng_impl
    yield
    jax.config.update("jax_default_prng_impl", before)


def small(prng: str):
    cfg = load_config([*SMALL, f"engine.prng={prng}"])
    cfg.strategies = {name: cfg.strategies[name] for name in ("spot", "hybrid")}
    return cfg


def test_root_key_follows_the_config():
    assert str(jax.random.key_impl(root_key(0, "philox"))) == "philox4x32"
    assert str(jax.random.key_impl(root_key(0, "threefry"))) == "threefry2x32"
    build_inputs(small("philox"))
    assert str(jax.random.key_impl(root_key(0))) == "philox4x32"
    build_inputs(small("threefry"))
    assert str(jax.random.key_impl(root_key(0))) == "threefry2x32"


def test_philox_results_do_not_depend_on_chunk_size():
    inputs, grid = build_inputs(small("philox"))
    whole, params, _ = run_paths(inputs, grid, seed=3, paths=200, chunk_size=200)
    chunked, chunked_params, _ = run_paths(inputs, grid, seed=3, paths=200, chunk_size=64)
    for name, values in whole.items():
        np.testing.assert_array_equal(values, chunked[name], err_msg=name)
    for name, values in params.items():
        np.testing.assert_array_equal(values, chunked_params[name], err_msg=name)
    inputs, grid = build_inputs(small("threefry"))
    threefry, _, _ = run_paths(inputs, grid, seed=3, paths=200, chunk_size=200)
    assert not np.allclose(whole["cost"], threefry["cost"])  # other draws ...
    # ... from the same model: the mean costs agree within Monte Carlo noise (independent samples)
    diff = whole["cost"].mean(axis=0) - threefry["cost"].mean(axis=0)
    se = np.sqrt(whole["cost"].var(axis=0, ddof=1) / 200 + threefry["cost"].var(axis=0, ddof=1) / 200)
    assert np.all(np.abs(diff) < 4 * se), (diff, se)


def test_bad_prng_is_a_config_error():
    with pytest.raises(ConfigError, match="engine.prng = .*mersenne.*threefry, philox"):
        load_config([*SMALL, "engine.prng=mersenne"])


TWO_DEVICES = textwrap.dedent("""
    import json, jax, jax.numpy as jnp, numpy as np
    from simulator.config.load import load_config
    from simulator.engine.host import build_inputs, root_key
    from simulator.engine.devices import path_mesh, simulate_chunk_sharded

    cfg = load_config(["scenario=hybrid", "engine.horizon_months=4"])  # build_inputs refuses philox on 2 devices
    inputs, grid = build_inputs(cfg)
    key, ids = root_key(0, "philox"), jnp.arange(256, dtype=jnp.uint32)  # the engine itself, with a philox key
    single = jax.device_get(simulate_chunk_sharded(inputs, key, ids, grid, path_mesh(jax.devices()[:1])))
    sharded = jax.device_get(simulate_chunk_sharded(inputs, key, ids, grid, path_mesh()))
    leaves = zip(jax.tree_util.tree_leaves(single), jax.tree_util.tree_leaves(sharded), strict=True)
    print(json.dumps(dict(devices=len(jax.devices()), impl=str(jax.random.key_impl(key)),
                          equal=[bool(np.array_equal(a, b)) for a, b in leaves])))
""")


@pytest.mark.slow  # a compile in a subprocess with two forced CPU devices
@pytest.mark.xfail(strict=True, reason="JAX 0.10.2 cannot lower philox4x32's mulhi inside shard_map (manual "
                   "sharding: 'failed to legalize mhlo.unknown'): engine.prng=philox runs on one device only")
def test_philox_on_two_devices_is_bit_identical():
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([sys.executable, "-c", TWO_DEVICES], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["devices"] == 2 and found["impl"] == "philox4x32"
    assert len(found["equal"]) > 20 and all(found["equal"])


def test_philox_on_several_devices_is_refused_with_one_line(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([sys.executable, "-m", "simulator", "scenario=hybrid", "debug=tiny", "engine.prng=philox",
                           f"hydra.run.dir={tmp_path / 'run'}"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if "engine.prng" in line]
    assert lines == ["config error: engine.prng = 'philox': runs on one device only, and this run has 2 "
                     "(use engine.prng=threefry, or one device: CUDA_VISIBLE_DEVICES=0)"], done.stderr[-2000:]
    assert "Traceback" not in done.stderr and not (tmp_path / "run" / "results.nc").exists()
