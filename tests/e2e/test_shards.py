"""Sharded runs: chunk ranges folded in chunk order equal the one-process run to the bit; the merge names missing
shards and re-runs only those."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator.app.shards import executor_settings, shard_ranges
from simulator.config.errors import ConfigError
from simulator.config.load import load_config
from simulator.engine.checkpoint import StreamControl, chunk_count
from simulator.engine.host import new_statistics, simulate
from simulator.stats.collector import ChunkLog

ROOT = Path(__file__).resolve().parents[2]
STREAMED = ["scenario=hybrid", "debug=tiny", "engine.paths=640", "report.path_level_paths=100"]  # 10 chunks


def test_shard_ranges_are_contiguous_and_cover_every_chunk():
    for chunks, shards in ((10, 3), (7, 7), (1000, 50)):
        ranges = shard_ranges(chunks, shards)
        assert ranges[0][0] == 0 and ranges[-1][1] == chunks and len(ranges) == shards
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(ranges[:-1], ranges[1:], strict=True))


def test_only_a_streamed_run_can_be_sharded():
    with pytest.raises(ConfigError, match=r"engine.shards = 3: only a streamed run can be sharded"):
        load_config(["scenario=hybrid", "debug=tiny", "engine.shards=3"])


def test_submitit_launcher_settings_map_as_the_plugin_maps_them():
    slurm = executor_settings({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
                               "submitit_folder": "${hydra.sweep.dir}/.submitit/%j", "timeout_min": 30,
                               "account": "def-me", "max_num_timeout": 2, "setup": ["module load python"]})
    assert slurm["cluster"] == "slurm" and slurm["init"] == {"slurm_max_num_timeout": 2}
    assert slurm["params"]["timeout_min"] == 30 and slurm["params"]["slurm_account"] == "def-me"
    assert slurm["params"]["slurm_setup"] == ["module load python"]
    assert executor_settings({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"})[
        "cluster"] == "local"


@pytest.mark.parametrize("sampling", ["mc", "qmc"])
def test_shards_fold_into_the_one_process_run_to_the_bit(sampling):
    """In process: three chunk ranges, each a ChunkLog with its own kept paths, folded in order (qmc: the
    per-scramble float sums too)."""
    cfg = load_config([*STREAMED, f"engine.sampling={sampling}"])
    whole = simulate(cfg)
    folded, kept = new_statistics(cfg), []
    for first, last in shard_ranges(chunk_count(cfg)[1], 3):
        control = StreamControl(first, last, ChunkLog(lambda: new_statistics(cfg)))
        part = simulate(cfg, control=control)
        control.statistics.fold_into(folded)
        kept += [part.outputs] if part.outputs else []
    (a, _), (b, _) = whole.statistics.data_vars(), folded.data_vars()
    for name in a:
        np.testing.assert_array_equal(a[name][1], b[name][1], err_msg=name, strict=True)
    assert len(kept) == 1  # paths 0-99 lie in the first shard's chunks
    for name, value in whole.outputs.items():
        np.testing.assert_array_equal(value, kept[0][name], err_msg=name)


def _cli(args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _assert_same_variables(a_path: Path, b_path: Path) -> None:
    with xr.open_dataset(a_path) as a, xr.open_dataset(b_path) as b:
        assert set(a.data_vars) == set(b.data_vars)
        for name in a.data_vars:
            xr.testing.assert_identical(a[name], b[name])


@pytest.mark.slow
def test_a_sharded_run_through_submitit_local_equals_one_process_and_the_merge_names_missing_shards(tmp_path):
    """~2-3 min on 2 cores: a reference run, a 3-shard run (three processes), a failed merge, a re-run of two."""
    args = [*STREAMED, "engine.paths=1280"]
    ref = _cli([*args, "hydra.run.dir=ref"], tmp_path)
    assert ref.returncode == 0, ref.stderr
    sharded = _cli([*args, "engine.shards=3", "hydra/launcher=submitit_local", "hydra.run.dir=sharded"], tmp_path)
    assert sharded.returncode == 0, sharded.stderr
    run = tmp_path / "sharded"
    assert sorted(p.name for p in (run / "shards").glob("shard_*.npz")) == [f"shard_{i:05d}.npz" for i in range(3)]
    _assert_same_variables(tmp_path / "ref" / "results.nc", run / "results.nc")
    assert (run / "summary.md").is_file() and (run / "summary.csv").is_file()

    (run / "results.nc").unlink()
    (run / "shards" / "shard_00001.npz").unlink()  # a lost shard
    path = run / "shards" / "shard_00002.npz"
    path.write_bytes(path.read_bytes()[:200])  # a shard killed while writing its file (outside the atomic save)
    merged = _cli(["merge", str(run)], tmp_path)
    assert merged.returncode == 1 and not (run / "results.nc").exists()
    line = merged.stderr.strip().splitlines()[-1]
    assert "2 of 3 shards not done: 1 (missing), 2 (unreadable" in line and "--rerun-missing" in line
    rerun = _cli(["merge", str(run), "--rerun-missing"], tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    _assert_same_variables(tmp_path / "ref" / "results.nc", run / "results.nc")
