"""Host side of the engine: build the inputs from a validated config, run the paths in chunks, merge in float64."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from simulator.config.errors import ConfigError
from simulator.config.providers import provider_names, storage_classes
from simulator.config.schema import Config
from simulator.engine.checkpoint import StreamControl
from simulator.engine.devices import path_mesh, round_chunk, simulate_chunk_sharded, to_host
from simulator.engine.priors import cast_table, copula_of, design_names, prior_table
from simulator.engine.progress import RunProgress
from simulator.engine.qmc import QmcDesign
from simulator.engine.scan import TRAJECTORIES, EngineInputs, Grid, slot_layout
from simulator.engine.strategies import (
    COST_CATEGORIES,
    SHORTFALL_CATEGORIES,
    SPEND_CATEGORIES,
    strategy_table,
    uses_procurement,
)
from simulator.stats.collector import RunStatistics


@dataclasses.dataclass
class Simulation:
    """Merged per-path outputs (numpy, float64) of the kept paths, streamed statistics, and their labels."""

    outputs: dict[str, np.ndarray]
    parameters: dict[str, np.ndarray]
    grid: Grid
    strategy_names: list[str]
    run_names: list[str]
    seconds: float
    compile_seconds: float
    statistics: RunStatistics | None = None  # over all paths, when only the first ones are kept path by path
    run_deadline_days: tuple[float, ...] = ()  # of ``run_names``, for the Dataset's coordinate
    scrambles: int = 0  # engine.sampling=qmc: path i is a point of scramble i mod scrambles; 0: mc


CACHE_DIR = Path(__file__).resolve().parent.parent / ".jax_cache"


def enable_compilation_cache(directory: Path = CACHE_DIR) -> None:
    """Persist compiled engines in ``directory`` (JAX's persistent compilation cache); call before compiling.

    A second run of the same scenario shape then loads the executable instead of compiling it (~15 s on 2 cores).
    Entries are keyed by the program, JAX version and backend, so a stale entry is never used.
    """
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def dtype_of(cfg: Config):
    """The engine dtype; float64 turns on JAX's x64 mode first."""
    if cfg.engine.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
        return jnp.float64
    return jnp.float32


def build_inputs(cfg: Config) -> tuple[EngineInputs, Grid]:
    """Engine inputs (array pytree) and static grid from a validated config."""
    dtype = dtype_of(cfg)
    if cfg.engine.prng == "philox" and len(jax.devices()) > 1:  # JAX 0.10 cannot lower philox's mulhi in shard_map
        raise ConfigError(f"engine.prng = 'philox': runs on one device only, and this run has {len(jax.devices())} "
                          "(use engine.prng=threefry, or one device: CUDA_VISIBLE_DEVICES=0)")
    jax.config.update("jax_default_prng_impl", PRNG_IMPLS[cfg.engine.prng])  # read by root_key (engine.prng)
    runs = list(cfg.runs.values())
    providers = provider_names(cfg)
    strategies = strategy_table(cfg.strategies, cfg.data, dtype, providers, gpus=cfg.gpus)
    table = prior_table(cfg)
    inputs = EngineInputs(
        priors=cast_table(table, dtype),
        strategies=strategies,
        run_gpus=jnp.asarray([r.gpus for r in runs], dtype).reshape(-1),
        run_start_day=jnp.asarray([r.start_day for r in runs], dtype).reshape(-1),
        run_deadline_day=jnp.asarray([r.deadline_day for r in runs], dtype).reshape(-1),
        discount_rate_per_year=jnp.asarray(cfg.engine.discount_rate_per_year, dtype),
        run_missed_usd=jnp.asarray([r.missed_usd for r in runs], dtype).reshape(-1),
        run_missed_after_days=jnp.asarray([np.inf if r.missed_after_days is None else r.missed_after_days
                                           for r in runs], dtype).reshape(-1),
        home_provider=jnp.asarray(providers.index(cfg.data.home), jnp.int32),
        funding_month=jnp.asarray(np.inf if cfg.decision.funding_month is None else cfg.decision.funding_month, dtype),
        copula=copula_of(cfg, dtype),
        qmc=qmc_design(cfg, table),
        run_names=tuple(cfg.runs),
        providers=providers,
        provider_storage=storage_classes(cfg),
        slot_kinds=slot_layout(strategies),
        slot_providers=slot_layout(strategies, "provider"),
        order_slots=cfg.engine.max_pending_orders if uses_procurement(cfg.strategies) else 1,
        leases=any(s.procurement.financing == "lease" for s in cfg.strategies.values()),
    )
    return inputs, Grid.from_step(cfg.engine.horizon_months, cfg.engine.step_days)


def qmc_design(cfg: Config, table=None) -> QmcDesign | None:
    """The Sobol design of ``engine.sampling=qmc`` (one dimension per non-fixed prior of ``table``, default
    ``prior_table(cfg)``), None for ``mc``."""
    if cfg.engine.sampling != "qmc":
        return None
    return QmcDesign.of(len(design_names(prior_table(cfg) if table is None else table)), cfg.engine.qmc_scrambles)


def auto_chunk(cfg: Config) -> tuple[int, int]:
    """The paths ``engine.paths=auto`` adds at a time and its cap: ``engine.chunk_size`` rounded up and
    ``engine.max_paths`` down to multiples of the scrambles with ``qmc`` (so every stop has the same number of points
    in every scramble)."""
    r = max(cfg.engine.scrambles, 1)
    return -(-cfg.engine.chunk_size // r) * r, max(r, cfg.engine.max_paths // r * r)


def totals(cost_by_category: np.ndarray) -> dict[str, np.ndarray]:
    """``spend``, ``shortfall`` and ``cost`` (the cost of service) as float64 sums of their categories (last axis):
    ``cost`` is the sum of every category, ``spend`` of :data:`SPEND_CATEGORIES`, ``shortfall`` of
    :data:`SHORTFALL_CATEGORIES`."""
    columns = lambda names: [COST_CATEGORIES.index(c) for c in names]  # noqa: E731
    return dict(cost=cost_by_category.sum(axis=-1),
                spend=cost_by_category[..., columns(SPEND_CATEGORIES)].sum(axis=-1),
                shortfall=cost_by_category[..., columns(SHORTFALL_CATEGORIES)].sum(axis=-1))


PRNG_IMPLS = {"threefry": "threefry2x32", "philox": "philox4x32"}  # engine.prng -> JAX's PRNG implementation


def root_key(seed: int, prng: str | None = None) -> jax.Array:
    """The root PRNG key of a run; every other key is folded from it (:mod:`simulator.engine._keys`).

    ``prng`` is ``engine.prng`` (``threefry`` or ``philox``: counter-based ``philox4x32``); None: the one that
    :func:`build_inputs` last set (``jax_default_prng_impl``, as the engine dtype sets x64 mode), threefry by default.
    """
    impl = PRNG_IMPLS[prng] if prng is not None else jax.config.jax_default_prng_impl
    return jax.random.key(seed, impl=impl)


def run_stream(
    inputs: EngineInputs,
    grid: Grid,
    seed: int,
    paths: int,
    chunk_size: int,
    *,
    keep_paths: int | None = None,
    trajectory_paths: int | None = None,
    statistics: RunStatistics | None = None,
    progress: RunProgress | None = None,
    first_path: int = 0,
    control: StreamControl | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """Run ``paths`` paths in chunks of ``chunk_size``: fold every chunk into ``statistics``, keep the first ones.

    The paths are ``first_path, ..., first_path + paths - 1``: a path's index alone sets its random numbers, so
    ``run_until`` can add paths to a run without changing the ones it has.

    Chunks are rounded up to whole blocks of :data:`~simulator.engine.devices.PATH_BLOCK` paths: XLA's vectorised
    and scalar code paths can round differently, and keeping every path in the same SIMD lane makes results
    bit-identical for any chunk size.
    With several devices (:mod:`simulator.engine.devices`) every chunk is split over all of them, whole blocks on each;
    the results are the same to the bit. The last chunk is padded to the chunk size (no new compile) and the
    padding dropped. Path-level outputs are
    concatenated on the host in float64 for the first ``keep_paths`` paths (default all) and monthly trajectories
    for the first ``trajectory_paths``; memory beyond that does not grow with ``paths``, since each chunk is folded
    into ``statistics`` (:class:`~simulator.stats.collector.RunStatistics`) and dropped.
    ``control`` (:class:`~simulator.engine.checkpoint.StreamControl`) runs only a range of chunks, continues from a
    saved state (kept outputs so far) and calls a hook after every chunk (checkpoints, interrupts).
    Returns ``(outputs, parameters, compile_seconds)`` of the kept paths.
    """
    key, mesh = root_key(seed), path_mesh()
    chunk = round_chunk(chunk_size, paths, mesh.size)  # whole PATH_BLOCKs on every device
    keep = paths if keep_paths is None else min(keep_paths, paths)
    keep_traj = keep if trajectory_paths is None else min(trajectory_paths, keep)
    control = control or StreamControl()
    parts: list[dict] = [{**control.outputs, "parameters": control.parameters}] if control.outputs else []
    compile_seconds, first = 0.0, control.first_chunk * chunk
    end = paths if control.last_chunk is None else min(paths, control.last_chunk * chunk)
    for start in range(first, end, chunk):
        if control.on_chunk is not None and start > first:  # the state after the previous chunk
            control.on_chunk(start // chunk, lambda: (statistics, *_concat(parts)))
        ids = jnp.arange(first_path + start, first_path + start + chunk, dtype=jnp.uint32)
        t0 = time.perf_counter()
        result = to_host(simulate_chunk_sharded(inputs, key, ids, grid, mesh))
        if start == first:
            compile_seconds = time.perf_counter() - t0
        n = min(chunk, paths - start)
        kept = max(0, min(n, keep - start))
        if statistics is None and kept == 0:
            continue
        if kept == 0:  # a chunk only folded into the statistics: convert just what they read
            read = (*RunStatistics.INPUTS, *RunStatistics.SERVICE_INPUTS, *RunStatistics.CASH_INPUTS)
            result = {k: result[k] for k in read if k in result}
        host = jax.tree_util.tree_map(
            lambda x, n=n: np.asarray(x[:n], dtype=np.float64 if x.dtype != bool else bool), result
        )
        host.update(totals(host["cost_by_category"]))  # float64 totals, consistent with their breakdown
        if statistics is not None:
            statistics.add(host)
        if progress is not None:
            progress.update(start + n, host["cost"])
        if kept == 0:
            continue
        host = jax.tree_util.tree_map(lambda x, kept=kept: x[:kept], host)
        for name in TRAJECTORIES:
            host[name] = host[name][: max(0, keep_traj - start)]
        parts.append(host)
    if progress is not None:
        progress.close()
    return *_concat(parts), compile_seconds


def _concat(parts: list[dict]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The kept chunks' outputs and parameters, concatenated along paths (``{}, {}`` when none is kept)."""
    if not parts:  # keep_paths=0: statistics only
        return {}, {}
    merged = {
        name: np.concatenate([p[name] for p in parts], axis=0) for name in parts[0] if name != "parameters"
    }
    parameters = {
        name: np.concatenate([p["parameters"][name] for p in parts]) for name in parts[0]["parameters"]
    }
    return merged, parameters


def run_paths(
    inputs: EngineInputs,
    grid: Grid,
    seed: int,
    paths: int,
    chunk_size: int,
    trajectory_paths: int | None = None,
    first_path: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """Every path's outputs (:func:`run_stream` keeping all paths, no statistics)."""
    return run_stream(inputs, grid, seed, paths, chunk_size, trajectory_paths=trajectory_paths,
                      first_path=first_path)


def run_until(
    inputs: EngineInputs,
    grid: Grid,
    seed: int,
    chunk_size: int,
    max_paths: int,
    enough: Callable[[dict[str, np.ndarray]], bool],
    trajectory_paths: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """Precision on demand: add chunks of ``chunk_size`` paths until ``enough(outputs)`` or ``max_paths``.

    Paths keep their indices, so the first ``N`` paths are exactly those of a run with ``paths=N`` (same seed);
    the last chunk is run whole (no new compile) and cut at ``max_paths``. Returns like :func:`run_paths`.
    """
    parts: list[tuple[dict, dict]] = []
    compile_seconds, done = 0.0, 0
    while done < max_paths:
        keep = None if trajectory_paths is None else max(0, trajectory_paths - done)
        out, params, seconds = run_paths(inputs, grid, seed, chunk_size, chunk_size, keep, first_path=done)
        compile_seconds = compile_seconds or seconds
        parts.append((out, params))
        done += chunk_size
        merged = _merge([p for p, _ in parts], max_paths)
        if enough(merged):
            break
    return merged, _merge([q for _, q in parts], max_paths), compile_seconds


def _merge(parts: list[dict[str, np.ndarray]], max_paths: int) -> dict[str, np.ndarray]:
    return {name: np.concatenate([p[name] for p in parts if name in p])[:max_paths] for name in parts[0]}


def new_statistics(cfg: Config) -> RunStatistics:
    """Empty streamed statistics of a run of ``cfg``."""
    return RunStatistics(
        len(cfg.strategies), len(cfg.runs), len(COST_CATEGORIES), capex_column=COST_CATEGORIES.index("capex"),
        budget_usd=cfg.decision.budget_usd, capex_budget_usd=cfg.decision.capex_budget_usd,
        funding_usd=cfg.decision.funding_usd, relative_accuracy=cfg.report.sketch_relative_accuracy,
        scrambles=cfg.engine.scrambles or None,
    )


def simulation_of(cfg: Config, outputs, parameters, statistics, seconds: float, compile_seconds: float) -> Simulation:
    """A :class:`Simulation` of ``cfg`` from its kept outputs and statistics (a run, a resumed or merged one)."""
    return Simulation(outputs, parameters, Grid.from_step(cfg.engine.horizon_months, cfg.engine.step_days),
                      list(cfg.strategies), list(cfg.runs), seconds, compile_seconds, statistics,
                      tuple(float(r.deadline_day) for r in cfg.runs.values()), cfg.engine.scrambles)


def simulate(cfg: Config, enough: Callable[[dict[str, np.ndarray]], bool] | None = None,
             control: StreamControl | None = None) -> Simulation:
    """Run the configured simulation end to end (no I/O); ``engine.paths=auto`` stops when ``enough(outputs)``;
    ``control`` runs a streamed run's chunk range from a saved state (:func:`run_stream`)."""
    inputs, grid = build_inputs(cfg)
    t0 = time.perf_counter()
    statistics = None  # engine.paths=auto keeps every path it runs
    if cfg.engine.paths == "auto":
        if enough is None:
            raise ValueError("engine.paths=auto needs a stopping rule (see simulator.decision.analyse.precision_rule)")
        outputs, parameters, compile_seconds = run_until(
            inputs, grid, cfg.engine.seed, *auto_chunk(cfg), enough,
            cfg.report.trajectory_paths,
        )
    else:
        streamed = cfg.engine.paths > cfg.report.path_level_paths
        statistics = new_statistics(cfg) if streamed else None
        if control is not None and control.statistics is not None:
            statistics = control.statistics
        progress = RunProgress(cfg.engine.paths, round_chunk(cfg.engine.chunk_size, cfg.engine.paths),
                               enabled=cfg.report.progress)
        outputs, parameters, compile_seconds = run_stream(
            inputs, grid, cfg.engine.seed, cfg.engine.paths, cfg.engine.chunk_size,
            keep_paths=cfg.report.path_level_paths, trajectory_paths=cfg.report.trajectory_paths,
            statistics=statistics, progress=progress, control=control,
        )
    return simulation_of(cfg, outputs, parameters, statistics, time.perf_counter() - t0, compile_seconds)
