"""Paths sharded over devices give the single-device results to the bit (two forced CPU devices, in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from simulator.engine.devices import PATH_BLOCK, chunk_multiple, path_mesh, round_chunk, shard_ids

ROOT = Path(__file__).resolve().parents[2]

# Runs with two CPU devices; prints one JSON line of findings.
TWO_DEVICES = textwrap.dedent("""
    import json, re
    import jax, jax.numpy as jnp, numpy as np
    from simulator.config.load import load_config
    from simulator.engine.host import build_inputs, root_key
    from simulator.engine.scan import simulate_chunk_jit
    from simulator.engine.devices import path_mesh, shard_ids, simulate_chunk_sharded, _simulate_local

    cfg = load_config(["scenario=hybrid", "engine.paths=256", "engine.horizon_months=3"])
    inputs, grid = build_inputs(cfg)
    key, mesh = root_key(cfg.engine.seed), path_mesh()
    ids = jnp.arange(cfg.engine.paths, dtype=jnp.uint32)
    single_mesh = path_mesh(jax.devices()[:1])
    single = jax.device_get(simulate_chunk_sharded(inputs, key, ids, grid, single_mesh))
    sharded = simulate_chunk_sharded(inputs, key, ids, grid, mesh)
    gspmd_compiled = simulate_chunk_jit.lower(inputs, key, shard_ids(ids, mesh), grid).compile()
    gspmd = gspmd_compiled(inputs, key, shard_ids(ids, mesh))
    local_text = _simulate_local.lower(inputs, key, shard_ids(ids, mesh), grid, mesh).compile().as_text()
    collective = r"= ([^=]+?) (all-reduce|all-gather|all-to-all|collective-permute|reduce-scatter)(?:-start)?\\("

    def report(tree):
        leaves = jax.tree_util.tree_leaves_with_path(tree)
        return dict(
            names=[jax.tree_util.keystr(p) for p, _ in leaves],
            devices=sorted({len(x.sharding.device_set) for _, x in leaves}),
            replicated=any(x.sharding.is_fully_replicated for _, x in leaves),
            shards=sorted({x.addressable_shards[0].data.shape[0] for _, x in leaves}),
            equal=[bool(np.array_equal(a, np.asarray(b))) for a, b in
                   zip(jax.tree_util.tree_leaves(single), jax.tree_util.tree_leaves(tree), strict=True)],
            max_relative=[float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.finfo(a.dtype).tiny), initial=0.0))
                          if np.issubdtype(a.dtype, np.floating) else None for a, b in
                          zip(jax.tree_util.tree_leaves(single), map(np.asarray, jax.tree_util.tree_leaves(tree)))],
        )

    try:
        shard_ids(jnp.arange(64, dtype=jnp.uint32), mesh)
        ragged = "accepted"
    except ValueError as exc:
        ragged = str(exc)

    print(json.dumps(dict(ragged=ragged,
        n_devices=len(jax.devices()), ids_devices=len(shard_ids(ids, mesh).sharding.device_set),
        shard_map=report(sharded), gspmd=report(gspmd),
        shard_map_collectives=re.findall(collective, local_text),
        gspmd_collectives=re.findall(collective, gspmd_compiled.as_text()),
    )))
""")


@pytest.fixture(scope="module")
def two_devices() -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run(
        [sys.executable, "-c", TWO_DEVICES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_forced_devices_are_used(two_devices):
    assert two_devices["n_devices"] == 2
    assert two_devices["ids_devices"] == 2
    for way in ("shard_map", "gspmd"):
        assert two_devices[way]["devices"] == [2], way  # every output spans both devices ...
        assert not two_devices[way]["replicated"], way  # ... split, not copied
        assert two_devices[way]["shards"] == [128], way  # 256 paths: 128 on each device


def test_sharded_outputs_are_bit_identical_to_one_device(two_devices):
    """The production path (``shard_map``: each device runs the one-device program on its paths) is exact."""
    report = two_devices["shard_map"]
    assert len(report["equal"]) > 20 and "['cost']" in report["names"]
    unequal = [name for name, ok in zip(report["names"], report["equal"], strict=True) if not ok]
    assert not unequal


GSPMD_ULPS = 16  # float32 ulps (2**-23 relative each); 5 seen with jax 0.12, 0 (bit-identical) with jax 0.10


def test_gspmd_outputs_equal_one_device_within_float32_rounding(two_devices):
    """GSPMD (``simulate_chunk_jit`` partitioned from sharded ids) agrees with one device to a few float32 ulps.

    It is not the production path (:func:`~simulator.engine.devices.simulate_chunk_sharded` uses ``shard_map``). The
    partitioned program is another XLA module, compiled on its own; with jax 0.10 its outputs were the same bits,
    with jax 0.12 (Python 3.13's newest) ``cost``, ``cost_by_category``, ``cumulative_cost`` and their cash
    counterparts differ in the last bits on some paths (at most ~5 ulps), mostly in the ``data`` category:
    ``egress (D_now new + (D_next - D_now) copies)`` with ``D_t = D_0 g^(t / 365.25)``, whose difference of two
    float32 powers turns a 1-ulp change of ``D_t`` into a larger relative one. The fused HLO of that formula and of
    its powers is the same in both programs (compared in ``compiled.as_text()``), while the partitioned module's
    loop bodies are fused differently (its step body has 591 lines to the one-device 713), so the change comes from
    how XLA compiles the partitioned module, not from the engine's arithmetic; every draw, count and flag matches.
    """
    report = two_devices["gspmd"]
    assert len(report["equal"]) > 20 and "['cost']" in report["names"]
    for name, ok, rel in zip(report["names"], report["equal"], report["max_relative"], strict=True):
        assert ok or (rel is not None and rel <= GSPMD_ULPS * 2.0**-23), (name, rel)


def test_communication_is_only_the_any_predicates(two_devices):
    assert two_devices["shard_map_collectives"] == []  # per-device programs: no communication at all
    # GSPMD: only scalar boolean all-reduces, the lax.cond `any(rate > 0)` predicates (two fused into a tuple at times)
    assert len(two_devices["gspmd_collectives"]) >= 2
    for dtype, op in two_devices["gspmd_collectives"]:
        assert op == "all-reduce" and set(dtype.strip("()").replace(" ", "").split(",")) == {"pred[]"}, (
            dtype,
            op,
        )


def test_ragged_chunk_is_refused(two_devices):
    assert "multiple of 128" in two_devices["ragged"]


def test_chunk_rounding_and_one_device_noop():
    assert chunk_multiple(1) == PATH_BLOCK and chunk_multiple(4) == 4 * PATH_BLOCK
    assert round_chunk(10_000, 10**7, n_devices=4) == 10_240  # whole blocks of 64 on each of 4 devices
    assert round_chunk(10_000, 100, n_devices=2) == 128
    assert round_chunk(10_000, 10**7, n_devices=1) == 10_048  # the single-device rule of run_paths
    ids = jnp.arange(128, dtype=jnp.uint32)
    assert shard_ids(ids, path_mesh(jax.devices()[:1])) is ids


# A whole streamed run (simulate: chunks, padding, path-level cap, streamed statistics) on two forced devices.
RUN = ["scenario=hybrid", "engine.paths=600", "engine.chunk_size=256", "engine.horizon_months=3",
       "report.path_level_paths=300", "report.trajectory_paths=40"]
RUN_SCRIPT = textwrap.dedent(f"""
    import sys, jax, numpy as np
    from simulator.config.load import load_config
    from simulator.results.dataset import build_dataset
    from simulator.engine.host import simulate
    assert len(jax.devices()) == 2
    cfg = load_config({RUN!r})
    ds = build_dataset(simulate(cfg), seed=0, resolved_config="", scenario="hybrid", run_deadlines=[180.0])
    ds.drop_attrs().to_netcdf(sys.argv[1], engine="h5netcdf")
""")


@pytest.mark.slow  # a whole streamed run in a subprocess; tests/e2e/test_reliability.py covers device counts too
def test_a_whole_run_on_two_devices_equals_one_device(tmp_path):
    import numpy as np
    import xarray as xr

    from simulator.config.load import load_config
    from simulator.engine.host import simulate
    from simulator.results.dataset import build_dataset

    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = tmp_path / "two.nc"
    done = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    one = build_dataset(simulate(load_config(RUN)), seed=0, resolved_config="", scenario="hybrid",
                        run_deadlines=[180.0])
    with xr.open_dataset(out, engine="h5netcdf") as two:
        assert two.sizes["path"] == 300 and "stream_cost_sketch" in two
        for name in one.data_vars:
            np.testing.assert_array_equal(two[name].values, one[name].values, err_msg=name)
