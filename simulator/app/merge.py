"""Merge a sharded run's shards into the outputs a one-machine run writes: ``python -m simulator merge RUN_DIR``.

Runs automatically after the shards of ``engine.shards > 1`` finish (:mod:`simulator.app.shards`); on its own after
a login node was lost, or with ``--rerun-missing`` to run again only the shards that are missing or incomplete
(through the executor the run was planned with), then merge. Every shard must be present, complete and of this run
(its identity: seed, paths, chunk size, chunk range, config hash); otherwise one line names the shards by index and
the exit status is 1. The statistics fold each shard's per-chunk moments in chunk order
(:meth:`~simulator.stats.collector.ChunkLog.fold_into`), so ``results.nc`` equals a one-machine run's bit for bit.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("simulator")
USAGE = "usage: python -m simulator merge RUN_DIR [--rerun-missing]"


def shard_problems(run_dir: Path, config, plan: dict) -> tuple[dict[int, str], dict]:
    """``({index: what is wrong}, {index: PartialRun})``: every shard that is missing, incomplete, unreadable or of
    another run, and the complete ones as loaded (each file is read once)."""
    from simulator.app.shards import shard_path, shard_ranges
    from simulator.engine.checkpoint import PartialRun, chunk_count, identity

    problems, complete = {}, {}
    for index, (first, last) in enumerate(shard_ranges(chunk_count(config)[1], plan["shards"])):
        path = shard_path(run_dir, index)
        if not path.is_file():
            problems[index] = "missing"
            continue
        try:
            partial = PartialRun.load(path)
        except Exception as exc:  # a truncated or foreign file
            problems[index] = f"unreadable ({type(exc).__name__})"
            continue
        if partial.identity != identity(config, first, last):
            problems[index] = "of another run"
        elif partial.next_chunk != last:
            problems[index] = f"incomplete ({partial.next_chunk - first} of {last - first} chunks)"
        else:
            complete[index] = partial
    return problems, complete


def merge(run_dir: Path, *, rerun_missing: bool = False, config=None):
    """Fold every shard of ``run_dir`` and write the run's outputs there; returns ``(config, analysis)``.

    ``config``: the run's validated config when the caller has it (inside Hydra's run); else composed from
    ``shards/plan.yaml``.

    Raises ``ValueError`` (one line naming the shards by index) when a shard is missing or incomplete.
    """
    from simulator.app.checkpoint import compose_saved
    from simulator.app.pipeline import analyse_and_write, label_simulation
    from simulator.app.shards import read_plan, submit
    from simulator.engine.host import new_statistics, simulation_of

    run_dir = Path(run_dir)
    plan = read_plan(run_dir)
    config = config if config is not None else compose_saved(plan["resolved"])
    problems, complete = shard_problems(run_dir, config, plan)
    if problems and rerun_missing:
        log.info("re-running shards %s", sorted(problems))
        submit(run_dir, sorted(problems), plan)
        problems, complete = shard_problems(run_dir, config, plan)
    if problems:
        listed = ", ".join(f"{i} ({why})" for i, why in sorted(problems.items()))
        raise ValueError(f"{run_dir}: {len(problems)} of {plan['shards']} shards not done: {listed}; run them with: "
                         f"python -m simulator merge {run_dir} --rerun-missing")
    t0 = time.perf_counter()
    statistics, kept = new_statistics(config), []
    for index in range(plan["shards"]):
        partial = complete[index]
        partial.statistics.fold_into(statistics)
        if partial.outputs:
            kept.append((partial.outputs, partial.parameters))
    outputs = {k: np.concatenate([o[k] for o, _ in kept]) for k in kept[0][0]}
    parameters = {k: np.concatenate([p[k] for _, p in kept]) for k in kept[0][1]}
    sim = simulation_of(config, outputs, parameters, statistics, time.perf_counter() - t0, 0.0)
    ds = label_simulation(sim, config, scenario=plan["scenario"], resolved=plan["resolved"])
    log.info("merged %d shards of %s paths", plan["shards"], f"{config.engine.paths:,}")
    return config, analyse_and_write(ds, config, run_dir, scenario=plan["scenario"], resolved=plan["resolved"],
                                     seconds=sim.seconds)


def merge_or_exit(run_dir: Path, *, rerun_missing: bool = False, config=None):
    """:func:`merge`, a missing shard turned into its one line and exit status 1."""
    try:
        return merge(run_dir, rerun_missing=rerun_missing, config=config)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def run_sharded(config, out_dir: Path, *, scenario: str, resolved: str):
    """``engine.shards > 1`` on the command line: plan, submit every shard, wait, merge: ``(config, analysis)``."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from simulator.app.shards import submit, write_plan
    from simulator.config.errors import ConfigError, error_line
    from simulator.engine.checkpoint import chunk_count

    chunks = chunk_count(config)[1]
    if config.engine.shards > chunks:
        print(error_line(ConfigError(f"engine.shards = {config.engine.shards}: more shards than the run's {chunks} "
                                     "chunks (engine.paths / engine.chunk_size)")), file=sys.stderr)
        sys.exit(2)
    launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=False)
    plan = write_plan(out_dir, config, scenario=scenario, resolved=resolved, launcher=launcher)
    submit(out_dir, list(range(plan["shards"])), plan)
    return merge_or_exit(out_dir, config=config)


def main(argv: list[str] | None = None) -> None:
    """``python -m simulator merge RUN_DIR [--rerun-missing]``."""
    import os

    from simulator.app.checkpoint import log_to

    argv = sys.argv[1:] if argv is None else argv
    paths = [a for a in argv if not a.startswith("-")]
    if len(paths) != 1 or any(a not in ("--rerun-missing",) for a in argv if a.startswith("-")):
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    run_dir = Path(paths[0])
    if not (run_dir / "shards" / "plan.yaml").is_file():
        print(f"error: {run_dir}: no shards/plan.yaml: not a sharded run directory", file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("MPLBACKEND", "Agg")
    log_to(run_dir)
    merge_or_exit(run_dir, rerun_missing="--rerun-missing" in argv)
