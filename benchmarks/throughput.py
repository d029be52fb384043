"""Throughput and memory of the engine, side by side with a plain NumPy implementation and the RNG floor.

Run from the repository root (one process, one table, ~5 minutes on 2 CPU cores)::

    python benchmarks/throughput.py                      # scenario=hybrid, 1e4 / 1e5 / 1e6 paths
    python benchmarks/throughput.py --quick              # 1e3 / 1e4 paths, a smoke test
    python benchmarks/throughput.py --horizon-months 36  # the full default horizon (slower)
    python benchmarks/throughput.py --qmc                # also QMC vs MC variance reduction (~15 more minutes)
    python benchmarks/throughput.py --qmc-only           # that section alone (options: benchmarks/qmc_gain.py)
    python benchmarks/throughput.py --sizes 10000 --prng-ab 5  # only engine.prng threefry vs philox, CPU time

What is measured, per path count ``N`` (``S`` strategies, ``T`` daily steps):

* **engine**: :func:`simulator.engine.host.run_paths` (chunks of ``engine.chunk_size`` paths, float32 on the device,
  float64 merge on the host), after a warm-up call of the same chunk shape; compile time is reported separately
  (first call minus second call of one chunk).
* **numpy**: :func:`benchmarks.numpy_reference.simulate_numpy`, the same model vectorized over paths with a
  ``numpy.random.Generator`` in float64 (``tests/test_numpy_reference.py`` checks that it agrees with the engine).
  Above ``--numpy-max`` paths its time is extrapolated linearly from the largest measured size, and said so.
* **RNG floor**: only the random variates the engine draws for the same work (per-path parameter draws, the
  per-step uniforms, the monthly expansion draws), with the engine's key derivation and PRNG, in chunks of the same
  size, each variate added into an accumulator so that nothing is optimised away.
* Throughput is path-steps-strategies per second, ``N * T * S / seconds``.
* **engine, streamed**: the largest size again as a streamed run does it (:func:`simulator.engine.host.run_stream` with
  :class:`simulator.stats.collector.RunStatistics`: exact moments, pairwise counts and DDSketch histograms per chunk,
  one path kept), to show the memory of a streamed run (``run_paths`` keeps every path's results in float64,
  ~1.6 kB per path here) and the cost of the host-side statistics.
* **Memory**: peak resident set size of this process during the call, minus the RSS just before it, sampled every
  5 ms from ``/proc/self/statm`` (so memory an allocator had already reserved and reuses is not counted again;
  short spikes under 5 ms may be missed). The absolute peak RSS of the process is printed at the end.

The default ``--horizon-months 6`` (180 daily steps, covering the scenario's training run) keeps the whole
benchmark within ~5 minutes; throughput per path-step-strategy is the same as over 36 months within noise, since
every step does the same work (``--horizon-months 36`` checks it).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import qmc_gain  # noqa: E402
from benchmarks.numpy_reference import reference_scope, simulate_numpy  # noqa: E402
from simulator.config.load import load_config  # noqa: E402
from simulator.engine import DAYS_PER_YEAR, keys  # noqa: E402
from simulator.engine.devices import round_chunk  # noqa: E402
from simulator.engine.host import build_inputs, root_key, run_paths, run_stream  # noqa: E402
from simulator.engine.scan import EXPANSION_STREAM, simulate_chunk_jit  # noqa: E402
from simulator.engine.strategies import COST_CATEGORIES  # noqa: E402
from simulator.stats.collector import RunStatistics  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakRSS:
    """Peak RSS above the RSS at entry, sampled every 5 ms in a thread."""

    def __enter__(self):
        self.base = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        self.increase = self.peak - self.base


def rng_floor_fn(inputs, grid):
    """A jitted function drawing exactly the engine's random variates for one chunk of paths (same named streams,
    same key derivation, :mod:`simulator.engine.keys`)."""
    names = list(inputs.priors)
    n_cycles = int(grid.horizon_days // DAYS_PER_YEAR) + 2
    step_names = keys.step_stream_names(inputs.slot_kinds or None, inputs.run_names)
    once_names = ("academic/partnership", "spot/initially_available")

    def draw(root, ids):
        parameter_keys = keys.stream_keys(root, keys.PARAMETER_STREAM, ids)
        params = jax.vmap(lambda k: jnp.stack([keys.uniforms(jax.random.fold_in(k, keys.stable_id(n)), (),
                                                             jnp.float32) for n in names]))(parameter_keys)
        once = [keys.counter_uniforms(keys.stream_keys(root, n, ids), 0, jnp.float32) for n in once_names]
        cycle_keys = keys.stream_keys(root, "academic/allocation_cycle", ids)
        once += [keys.counter_uniforms(cycle_keys, k, jnp.float32) for k in range(n_cycles)]
        total = jnp.sum(params, axis=1) + sum(once)
        step_keys = keys.streams_keys(root, step_names, ids)
        expansion_keys = keys.stream_keys(root, EXPANSION_STREAM, ids)

        def month(acc, m):
            def day(acc, k):
                return acc + keys.counter_uniforms(step_keys, m * grid.steps_per_month + k, jnp.float32), None

            acc, _ = jax.lax.scan(day, acc, jnp.arange(grid.steps_per_month))
            return acc.at[0].add(keys.counter_uniforms(expansion_keys, m, jnp.float32)), None

        acc = jnp.zeros((len(step_names), ids.shape[0]), jnp.float32)
        acc, _ = jax.lax.scan(month, acc, jnp.arange(grid.months))
        return total + jnp.sum(acc, axis=0)

    return jax.jit(draw)


def prng_ab(inputs, grid, seed: int, paths: int, reps: int, work) -> None:
    """``engine.prng`` threefry vs philox: CPU seconds (``time.process_time``, all threads) of one chunk of the engine
    and of its RNG floor, the two PRNGs interleaved ``reps`` times (A B B A ...), so that machine load shifts both
    alike; prints the median and the range of each and the ratio of medians."""
    ids = jnp.arange(paths, dtype=jnp.uint32)
    floor = rng_floor_fn(inputs, grid)
    fns = {"engine": lambda key: simulate_chunk_jit(inputs, key, ids, grid)["cost"], "floor": lambda key: floor(key, ids)}
    calls = {(impl, what): functools.partial(lambda f, key: np.asarray(f(key)), fns[what], root_key(seed, impl))
             for impl in ("threefry", "philox") for what in fns}
    for call in calls.values():  # compile each
        call()
    times: dict = {k: [] for k in calls}
    for rep in range(reps):
        order = ("threefry", "philox") if rep % 2 == 0 else ("philox", "threefry")
        for impl in order:
            for what in ("engine", "floor"):
                t0 = time.process_time()
                calls[impl, what]()
                times[impl, what].append(time.process_time() - t0)
    print(f"## engine.prng A/B: {paths} paths x {grid.months * grid.steps_per_month} steps, {reps} interleaved "
          "repetitions, CPU seconds (median [min, max]) and path-steps-strategies per CPU second")
    print("| | threefry | philox | threefry / philox (medians) |")
    print("|---|---|---|---|")
    for what in ("engine", "floor"):
        med = {impl: float(np.median(times[impl, what])) for impl in ("threefry", "philox")}
        cells = [f"{med[i]:.2f} s [{min(times[i, what]):.2f}, {max(times[i, what]):.2f}] "
                 f"({fmt_rate(work(paths) / med[i])}/CPU s)" for i in ("threefry", "philox")]
        print(f"| {what} | {cells[0]} | {cells[1]} | {med['threefry'] / med['philox']:.2f} |")


def chunk_of(paths: int, chunk_size: int) -> int:
    """The chunk the run uses (:func:`simulator.engine.devices.round_chunk` on this machine's devices)."""
    return round_chunk(chunk_size, paths)


def time_floor(floor, seed: int, paths: int, chunk_size: int) -> float:
    chunk = chunk_of(paths, chunk_size)
    key = root_key(seed)
    jax.block_until_ready(floor(key, jnp.arange(chunk, dtype=jnp.uint32)))  # compile this shape
    t0 = time.perf_counter()
    for start in range(0, paths, chunk):
        out = floor(key, jnp.arange(start, start + chunk, dtype=jnp.uint32))
        np.asarray(out)  # to the host, as the engine's results are
    return time.perf_counter() - t0


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    devices = ", ".join(f"{d.platform}:{d.device_kind}" for d in jax.devices())
    return (f"{datetime.datetime.now().isoformat(timespec='seconds')}; {os.cpu_count()} CPUs ({cpu_model()}), "
            f"{mem:.0f} GiB RAM; JAX {jax.__version__} on {devices}; NumPy {np.__version__}; "
            f"load average before: {os.getloadavg()[0]:.1f}")


def end_to_end(paths: int | None, cache: bool) -> float:
    """Seconds for ``python -m simulator scenario=hybrid`` in a subprocess (cold compile unless ``cache``)."""
    cmd = [sys.executable, "-m", "simulator", "scenario=hybrid", f"engine.compilation_cache={str(cache).lower()}",
           "hydra.run.dir=outputs/benchmark/${now:%Y-%m-%d_%H-%M-%S}"]
    if paths:
        cmd.append(f"engine.paths={paths}")
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return float("nan")
    return seconds


def fmt_rate(x: float) -> str:
    return f"{x:.2e}" if np.isfinite(x) else "n/a"


def fmt_mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x / 2**20:,.0f} MB"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6], help="path counts")
    ap.add_argument("--numpy-max", type=float, default=1e5, help="largest path count NumPy runs (then extrapolated)")
    ap.add_argument("--horizon-months", type=int, default=6)
    ap.add_argument("--chunk-size", type=int, default=None, help="engine.chunk_size (default: conf/engine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="1e3 and 1e4 paths, no end-to-end run")
    ap.add_argument("--no-end-to-end", action="store_true", help="skip timing `python -m simulator scenario=hybrid`")
    ap.add_argument("--qmc", action="store_true", help="also QMC vs MC: variance reduction and time to target")
    ap.add_argument("--qmc-only", action="store_true", help="only the QMC vs MC section")
    qmc_gain.add_arguments(ap)
    ap.add_argument("--prng-ab", type=int, default=0, metavar="REPS",
                    help="only the engine.prng A/B (threefry vs philox, CPU time, REPS interleaved repetitions) at "
                         "the first --sizes path count")
    args = ap.parse_args(argv)
    if args.qmc_only:
        qmc_gain.run(args)
        return
    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes]
    if min(sizes) > args.numpy_max:  # NumPy times above --numpy-max are extrapolated from a measured size
        ap.error(f"--numpy-max {args.numpy_max:g} is below every size ({min(sizes)} the smallest): NumPy must run "
                 "at least one size to extrapolate the others")

    overrides = ["scenario=hybrid", f"engine.horizon_months={args.horizon_months}"]
    if args.chunk_size:
        overrides.append(f"engine.chunk_size={args.chunk_size}")
    cfg = reference_scope(load_config(overrides))  # the strategies both implementations model
    inputs, grid = build_inputs(cfg)
    chunk_size = cfg.engine.chunk_size
    n_strategies = len(cfg.strategies)
    steps = grid.months * grid.steps_per_month
    work = lambda n: n * steps * n_strategies  # noqa: E731
    print(f"# gpu-risk throughput: scenario=hybrid, {n_strategies} strategies, {grid.months} months x "
          f"{grid.steps_per_month} steps = {steps} steps, engine.chunk_size={chunk_size}, float32")
    print(f"# {machine_line()}", flush=True)
    if args.prng_ab:
        prng_ab(inputs, grid, args.seed, chunk_of(sizes[0], chunk_size), args.prng_ab, work)
        return

    # Compile time: first call of one chunk minus the second call of the same chunk.
    key = root_key(args.seed)
    ids = jnp.arange(chunk_of(sizes[-1], chunk_size), dtype=jnp.uint32)
    t0 = time.perf_counter()
    jax.block_until_ready(simulate_chunk_jit(inputs, key, ids, grid))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(simulate_chunk_jit(inputs, key, ids, grid))
    compile_seconds = first - (time.perf_counter() - t0)

    floor = rng_floor_fn(inputs, grid)
    rows = []
    for n in sizes:
        chunk = chunk_of(n, chunk_size)
        jax.block_until_ready(simulate_chunk_jit(inputs, key, jnp.arange(chunk, dtype=jnp.uint32), grid))  # warm
        repeats = 3 if n <= 10_000 else 1  # small sizes: best of 3 (the machines are noisy)
        engine_s = floor_s = float("inf")
        for _ in range(repeats):
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                run_paths(inputs, grid, args.seed, n, chunk_size, trajectory_paths=0)
                engine_s = min(engine_s, time.perf_counter() - t0)
            engine_mem = mem.increase
            with PeakRSS() as mem:
                floor_s = min(floor_s, time_floor(floor, args.seed, n, chunk_size))
            floor_mem = mem.increase
        if n <= args.numpy_max:
            numpy_s = float("inf")
            for _ in range(repeats):
                with PeakRSS() as mem:
                    t0 = time.perf_counter()
                    simulate_numpy(cfg, n, seed=args.seed)
                    numpy_s = min(numpy_s, time.perf_counter() - t0)
            numpy_mem, numpy_note = mem.increase, "measured"
            numpy_per_path = numpy_s / n
        else:
            numpy_s, numpy_mem = numpy_per_path * n, None
            numpy_note = f"extrapolated from {int(args.numpy_max):.0e} paths (linear in paths), not run"
        rows.append((n, engine_s, engine_mem, numpy_s, numpy_mem, numpy_note, floor_s, floor_mem))
        print(f"#   {n:.0e} paths: engine {engine_s:.1f} s, numpy {numpy_s:.1f} s ({numpy_note}), "
              f"rng floor {floor_s:.1f} s", flush=True)

    # The largest size once more, streamed as a run with more paths than report.path_level_paths is: every chunk
    # folded into RunStatistics (moments, pairwise counts, DDSketch histograms) and dropped, one path kept.
    n = sizes[-1]
    statistics = RunStatistics(n_strategies, len(cfg.runs), len(COST_CATEGORIES),
                               capex_column=COST_CATEGORIES.index("capex"), budget_usd=None, capex_budget_usd=None,
                               relative_accuracy=cfg.report.sketch_relative_accuracy)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        run_stream(inputs, grid, args.seed, n, chunk_size, keep_paths=1, trajectory_paths=0, statistics=statistics)
        streamed_s = time.perf_counter() - t0
    streamed = (n, streamed_s, mem.increase)

    e2e = None
    if not (args.quick or args.no_end_to_end):
        e2e = (end_to_end(None, cache=False), end_to_end(None, cache=True), end_to_end(None, cache=True))

    print()
    print("| paths | engine path-steps-strategies/s | NumPy path-steps-strategies/s | engine / NumPy "
          "| RNG floor path-steps-strategies/s | engine time / RNG floor time | peak RSS increase: engine / NumPy / "
          "RNG floor |")
    print("|---|---|---|---|---|---|---|")
    for n, engine_s, engine_mem, numpy_s, numpy_mem, numpy_note, floor_s, floor_mem in rows:
        star = "" if numpy_note == "measured" else " (extrapolated)"
        print(f"| {n:.0e} | {fmt_rate(work(n) / engine_s)} ({engine_s:.1f} s) | {fmt_rate(work(n) / numpy_s)} "
              f"({numpy_s:.1f} s){star} | {numpy_s / engine_s:.1f}x{star} | {fmt_rate(work(n) / floor_s)} "
              f"({floor_s:.1f} s) | {engine_s / floor_s:.2f} | {fmt_mb(engine_mem)} / {fmt_mb(numpy_mem)} / "
              f"{fmt_mb(floor_mem)} |")
    n, streamed_s, streamed_mem = streamed
    print(f"| {n:.0e}, engine streamed (run_stream + RunStatistics, 1 path kept) | {fmt_rate(work(n) / streamed_s)} "
          f"({streamed_s:.1f} s) | | | | | {fmt_mb(streamed_mem)} / - / - |")
    print()
    print(f"engine compile: {compile_seconds:.1f} s (one chunk shape of {ids.shape[0]} paths; each new chunk shape "
          f"compiles again; a persistent cache in .jax_cache/ skips it on later runs)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:,.0f} MB")
    if e2e:
        print(f"`python -m simulator scenario=hybrid` (10,000 paths, 36 months, plots, results.nc) end to end: "
              f"{e2e[0]:.1f} s with a cold compile; {e2e[1]:.1f} s then {e2e[2]:.1f} s with the compilation cache")
    for n, *_, numpy_note, _, _ in rows:
        if numpy_note != "measured":
            print(f"NumPy at {n:.0e} paths: {numpy_note}")
    if args.qmc:
        qmc_gain.run(args)


if __name__ == "__main__":
    main()
