"""Sharded runs: one streamed run split into ``engine.shards`` jobs over contiguous chunk ranges, then merged.

With ``engine.shards = K > 1`` the run's ``C`` chunks are split into ``K`` contiguous ranges
``[floor(k C / K), floor((k + 1) C / K))``; each shard runs its range as a job (:func:`run_shard`) and writes
``RUN_DIR/shards/shard_0000k.npz`` (a :class:`~simulator.engine.checkpoint.PartialRun` of its range, saved every
``engine.checkpoint_minutes`` too, so a preempted shard continues where it stopped); then
:func:`simulator.app.merge.merge` folds the shards into the outputs a one-machine run writes, bit for bit: each
shard keeps every chunk's own moments (:class:`~simulator.stats.collector.ChunkLog`) and the merge folds them in
chunk order, the sequential fold exactly; counts and sketch counts add exactly.

Jobs go through ``submitit`` directly, configured from the run's ``hydra/launcher``: the submitit launchers'
settings (``hydra/launcher=slurm``: account, time, GPUs, setup lines; ``submitit_local``) map to the same
executor parameters the launcher plugin would pass; any other launcher (the basic one, joblib) runs the shards as
local processes (submitit's local executor). Not through Hydra's launcher itself: a launcher runs Hydra *jobs*,
each with its own composed config, job directory and sweep callbacks, while shards are pieces of *one* run in one
directory, plain functions of ``(RUN_DIR, index)``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml

log = logging.getLogger("simulator")
BASE_KEYS = {"timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes", "name",
             "stderr_to_stdout"}  # hydra_submitit_launcher's BaseQueueConf: not prefixed with the cluster


def shard_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "shards"


def shard_path(run_dir: Path, index: int) -> Path:
    return shard_dir(run_dir) / f"shard_{index:05d}.npz"


def shard_ranges(chunks: int, shards: int) -> list[tuple[int, int]]:
    """Contiguous chunk ranges ``[floor(k C / K), floor((k + 1) C / K))``, ``k = 0 .. K - 1``."""
    bounds = [k * chunks // shards for k in range(shards + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def executor_settings(launcher: dict) -> dict:
    """``{cluster, init, params}`` of a ``submitit.AutoExecutor`` from a ``hydra.launcher`` config, as
    ``hydra_submitit_launcher`` maps it (unresolved interpolations, the sweep folder and name dropped)."""
    target = str(launcher.get("_target_", ""))
    cluster = "slurm" if target.endswith("SlurmLauncher") else "local"
    if "hydra_submitit_launcher" not in target:
        return dict(cluster="local", init={}, params={})
    values = {k: v for k, v in launcher.items() if k not in ("_target_", "submitit_folder", "name")
              and not (isinstance(v, str) and "${" in v)}
    init = {f"{cluster}_max_num_timeout": values.pop("max_num_timeout")} if "max_num_timeout" in values else {}
    params = {k if k in BASE_KEYS else f"{cluster}_{k}": v for k, v in values.items()}
    return dict(cluster=cluster, init=init, params={**params, "name": "gpu-risk-shard"})


def write_plan(run_dir: Path, config, *, scenario: str, resolved: str, launcher: dict) -> dict:
    """``RUN_DIR/shards/plan.yaml``: what every shard and the merge read (shard count, resolved config, executor)."""
    shard_dir(run_dir).mkdir(parents=True, exist_ok=True)
    plan = dict(shards=config.engine.shards, scenario=scenario, executor=executor_settings(launcher),
                resolved=resolved)
    (shard_dir(run_dir) / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    return plan


def read_plan(run_dir: Path) -> dict:
    path = shard_dir(run_dir) / "plan.yaml"
    if not path.is_file():
        raise ValueError(f"{run_dir}: no shards/plan.yaml: not a sharded run directory")
    return yaml.safe_load(path.read_text())


def run_shard(run_dir: str, index: int) -> str:
    """One shard's job: run its chunk range (continuing its own saved state if any), save it complete."""
    from simulator.app.checkpoint import Checkpointer, compose_saved
    from simulator.engine.checkpoint import PartialRun, StreamControl, chunk_count, identity
    from simulator.engine.host import enable_compilation_cache, new_statistics, simulate
    from simulator.stats.collector import ChunkLog

    plan = read_plan(run_dir)
    config = compose_saved(plan["resolved"])
    first, last = shard_ranges(chunk_count(config)[1], plan["shards"])[index]
    path, expected = shard_path(run_dir, index), identity(config, first, last)
    if config.engine.compilation_cache:
        enable_compilation_cache()
    hook = Checkpointer(path, expected, plan["resolved"], paths=config.engine.paths,
                        minutes=config.engine.checkpoint_minutes)
    partial = _load_or_none(path)
    if partial is not None and partial.identity == expected:
        if partial.next_chunk == last:
            return str(path)
        control = StreamControl.resuming(partial, last, hook)
    else:
        control = StreamControl(first, last, ChunkLog(lambda: new_statistics(config)), on_chunk=hook)
    sim = simulate(config, control=control)
    PartialRun(expected, last, control.statistics, sim.outputs, sim.parameters, plan["resolved"]).save(path)
    return str(path)


def submit(run_dir: Path, indices: list[int], plan: dict) -> dict[int, str]:
    """Run shards ``indices`` as jobs and wait for them: ``{index: error line}`` of the ones that failed."""
    import submitit

    settings = plan["executor"]
    executor = submitit.AutoExecutor(folder=shard_dir(run_dir) / "logs" / "%j", cluster=settings["cluster"],
                                     **settings["init"])
    executor.update_parameters(**settings["params"])
    jobs = executor.map_array(run_shard, [str(run_dir)] * len(indices), list(indices))
    log.info("shards %s submitted (%s): job ids %s", list(indices), settings["cluster"], [j.job_id for j in jobs])
    failed = {}
    for index, job in zip(indices, jobs, strict=True):
        try:
            job.result()
        except Exception as exc:  # a failed job is reported by index; the merge names what is missing
            errors = [line for line in str(exc).splitlines() if re.match(r"\w+(Error|Exception|Interrupt)\b", line)]
            failed[index] = errors[-1] if errors else type(exc).__name__
            log.error("shard %d failed: %s (log: %s)", index, failed[index], job.paths.stderr)
    return failed


def _load_or_none(path: Path):
    """A shard's saved state, or None when there is none or it cannot be read (a file cut short outside
    :func:`simulator.stats.state.save`): the shard then starts its range again."""
    from simulator.engine.checkpoint import PartialRun

    if not path.is_file():
        return None
    try:
        return PartialRun.load(path)
    except Exception as exc:  # any unreadable file is replaced
        log.warning("%s: unreadable (%s): running the shard from its start", path, type(exc).__name__)
        return None
