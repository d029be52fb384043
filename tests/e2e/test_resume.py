"""Streamed runs survive: SIGTERM saves a checkpoint and says how to resume; the resumed run equals an
uninterrupted one variable by variable; SIGKILL loses at most the work since the last checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from simulator.app.checkpoint import Checkpointer, RunInterrupted, StopOnSignals
from simulator.config.load import CONF_DIR, load_config
from simulator.engine.checkpoint import PartialRun, StreamControl, identity
from simulator.engine.host import new_statistics, simulate

ROOT = Path(__file__).resolve().parents[2]
STREAMED = ["scenario=hybrid", "debug=tiny", "report.path_level_paths=100", "engine.checkpoint_minutes=0"]
LONG = [*STREAMED, "engine.paths=6400"]  # 100 chunks of 64 paths: a few seconds of chunks to interrupt


def test_a_checkpoint_resumes_in_process_to_the_bit(tmp_path):
    """Stop after 4 of 10 chunks (a signal), save, load, continue: the statistics and kept paths of one run."""
    cfg = load_config([*STREAMED, "engine.paths=640"])
    whole = simulate(cfg)
    stop = StopOnSignals()
    hook = Checkpointer(tmp_path / "checkpoint.npz", identity(cfg), "resolved", paths=640, minutes=1e3, stop=stop)

    def stop_at_4(next_chunk, snapshot):
        stop.signum = signal.SIGTERM if next_chunk == 4 else None
        hook(next_chunk, snapshot)

    with pytest.raises(RunInterrupted, match="interrupted after 256 of 640 paths; resume with: python -m simulator "
                                             "rerun .* --resume") as info:
        simulate(cfg, control=StreamControl(on_chunk=stop_at_4))
    assert info.value.code == 143
    partial = PartialRun.load(tmp_path / "checkpoint.npz")
    assert partial.next_chunk == 4 and partial.identity == identity(cfg) and partial.resolved == "resolved"
    resumed = simulate(cfg, control=StreamControl.resuming(partial))
    (a, _), (b, _) = whole.statistics.data_vars(), resumed.statistics.data_vars()
    for name in a:
        np.testing.assert_array_equal(a[name][1], b[name][1], err_msg=name, strict=True)
    for name, value in whole.outputs.items():
        np.testing.assert_array_equal(value, resumed.outputs[name], err_msg=name)


def _env():
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}


def _cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=600)


def _start_and_signal(cwd: Path, run: str, signum: int) -> subprocess.CompletedProcess:
    """Start a long streamed run, send ``signum`` once its first checkpoint exists, wait for it."""
    proc = subprocess.Popen([sys.executable, "-m", "simulator", *LONG, f"hydra.run.dir={run}"], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (cwd / run / "checkpoint.npz").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _assert_same_variables(a_path: Path, b_path: Path) -> None:
    with xr.open_dataset(a_path) as a, xr.open_dataset(b_path) as b:
        assert set(a.data_vars) == set(b.data_vars)
        for name in a.data_vars:
            xr.testing.assert_identical(a[name], b[name])
        skip = {"created_at", "simulate_seconds", "compile_seconds"}  # times and durations
        assert {k: v for k, v in a.attrs.items() if k not in skip} == {k: v for k, v in b.attrs.items()
                                                                         if k not in skip}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("resume")
    result = _cli([*LONG, "hydra.run.dir=ref"], cwd)
    assert result.returncode == 0, result.stderr
    assert not (cwd / "ref" / "checkpoint.npz").exists()  # removed once results.nc is written
    return cwd


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_the_resumed_run_equals_an_uninterrupted_one(reference):
    """~1.5 min on 2 cores (three runs of the CLI)."""
    cwd = reference
    stopped = _start_and_signal(cwd, "stopped", signal.SIGTERM)
    assert stopped.returncode == 143, stopped.stderr
    line = stopped.stderr.strip().splitlines()[-1]
    assert line.startswith("interrupted after ") and line.endswith(f"python -m simulator rerun {cwd / 'stopped'} "
                                                                   "--resume")
    assert not (cwd / "stopped" / "results.nc").exists()
    resumed = _cli(["rerun", "stopped", "--resume"], cwd)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_variables(cwd / "ref" / "results.nc", cwd / "stopped" / "results.nc")
    assert not (cwd / "stopped" / "checkpoint.npz").exists()
    again = _cli(["rerun", "stopped", "--resume"], cwd)
    assert again.returncode == 2 and "results.nc exists: the run is complete" in again.stderr


@pytest.mark.slow
def test_sigkill_while_checkpointing_loses_only_the_last_chunks(reference):
    """SIGKILL lands while the run writes a checkpoint after every chunk; a truncated temporary file (what a kill
    inside the write leaves) lies next to it: the previous checkpoint still resumes to the same results."""
    cwd = reference
    killed = _start_and_signal(cwd, "killed", signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    checkpoint = cwd / "killed" / "checkpoint.npz"
    (checkpoint.parent / ".checkpoint.npz.x1y2.tmp").write_bytes(checkpoint.read_bytes()[:1000])
    resumed = _cli(["rerun", "killed", "--resume"], cwd)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_variables(cwd / "ref" / "results.nc", cwd / "killed" / "results.nc")


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path):
    """A checkpoint whose identity does not match the directory's saved config: one line, exit 2."""
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        composed = compose("config", overrides=[*STREAMED, "engine.paths=640"])
    (run / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(composed, resolve=True))
    cfg = load_config([*STREAMED, "engine.paths=640", "engine.seed=5"])
    PartialRun(identity(cfg), 3, new_statistics(cfg), {}, {}, "").save(run / "checkpoint.npz")
    result = _cli(["rerun", str(run), "--resume"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {run / 'checkpoint.npz'}: belongs to another run (seed, "
                                                  f"paths, chunk size or config differ from {run}'s saved config)"]
