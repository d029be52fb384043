"""Wall time of one chunk on one device vs sharded over several (forced CPU devices or real GPUs).

Run from the repository root (~2 minutes on 2 CPU cores)::

    python benchmarks/devices.py                       # 4096 paths x 6 months; 1 device, then 2 forced CPU devices
    python benchmarks/devices.py --paths 65536 --here  # this process's devices only (e.g. every GPU of a host)

Each variant is compiled once (a warm-up call, not timed) and then timed ``--repeats`` times; the median is printed,
with a check that the sharded outputs equal the one-device outputs bit for bit. Variants: ``one_device``
(``simulate_chunk_jit``), ``shard_map`` (:func:`simulator.engine.devices.simulate_chunk_sharded`) and ``gspmd``
(``simulate_chunk_jit`` on ids from :func:`simulator.engine.devices.shard_ids`). Forced CPU devices share the same cores,
so no speed-up is expected on CPU; the point of sharding is a host with several GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def measure(paths: int, months: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from simulator.config.load import load_config
    from simulator.engine.devices import path_mesh, round_chunk, shard_ids, simulate_chunk_sharded
    from simulator.engine.host import build_inputs, root_key
    from simulator.engine.scan import simulate_chunk_jit

    cfg = load_config(["scenario=hybrid", f"engine.paths={paths}", f"engine.horizon_months={months}"])
    inputs, grid = build_inputs(cfg)
    key, mesh = root_key(cfg.engine.seed), path_mesh()
    n = round_chunk(paths, paths)
    ids = jnp.arange(n, dtype=jnp.uint32)
    variants = {"one_device": lambda: simulate_chunk_jit(inputs, key, ids, grid)}
    if mesh.size > 1:
        sharded_ids = shard_ids(ids, mesh)
        variants["shard_map"] = lambda: simulate_chunk_sharded(inputs, key, sharded_ids, grid, mesh)
        variants["gspmd"] = lambda: simulate_chunk_jit(inputs, key, sharded_ids, grid)
    out, reference = (
        {"devices": mesh.size, "backend": jax.default_backend(), "paths": n, "months": months},
        None,
    )
    for name, call in variants.items():
        t0 = time.perf_counter()
        result = jax.device_get(call())
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(call())
            times.append(time.perf_counter() - t0)
        reference = reference or result
        same = all(
            np.array_equal(a, b)
            for a, b in zip(
                jax.tree_util.tree_leaves(reference), jax.tree_util.tree_leaves(result), strict=True
            )
        )
        out[name] = dict(
            first_call_s=round(first, 2),
            median_s=round(statistics.median(times), 3),
            times_s=[round(t, 3) for t in times],
            identical_to_one_device=same,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=4096)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--here", action="store_true", help="measure in this process only (its own devices)")
    args = parser.parse_args()
    if args.here:
        print(json.dumps(measure(args.paths, args.months, args.repeats)))
        return
    for count in (1, 2):
        flags = f"--xla_force_host_platform_device_count={count}" if count > 1 else ""
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags}
        cmd = [
            sys.executable,
            __file__,
            "--here",
            "--paths",
            str(args.paths),
            "--months",
            str(args.months),
            "--repeats",
            str(args.repeats),
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        print(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
