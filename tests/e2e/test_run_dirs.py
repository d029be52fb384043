"""One directory per run (simulator/config/run_dirs.py): two runs started in the same second get two directories,
each self-consistent; an explicit directory that holds a run is refused unless overwrite=true; every file of a run
gets the permissions the umask gives."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from simulator.app.rerun import primary_config
from simulator.config.run_dirs import unique_dir

ROOT = Path(__file__).resolve().parents[2]  # the subprocesses import this checkout's simulator
ARGS = ["scenario=hybrid", "debug=tiny"]


def start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "simulator", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)})


def finish(process):
    out, err = process.communicate(timeout=400)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two runs of the same scenario with different seeds, started together, under umask 0022."""
    cwd = tmp_path_factory.mktemp("same_second")
    previous = os.umask(0o022)
    try:
        processes = [start([*ARGS, f"engine.seed={seed}"], cwd) for seed in (1, 2)]
    finally:
        os.umask(previous)
    for rc, _, err in map(finish, processes):
        assert rc == 0, err
    return cwd, sorted((cwd / "outputs" / "hybrid").iterdir())


def test_two_runs_in_the_same_second_get_two_self_consistent_directories(two_runs):
    _, dirs = two_runs
    assert len(dirs) == 2  # and no third, empty one: the directory is resolved once per run
    seeds, means = set(), []
    for run_dir in dirs:
        with xr.open_dataset(run_dir / "results.nc") as ds:
            seed, seconds = int(ds.attrs["seed"]), float(ds.attrs["simulate_seconds"])
            saved = yaml.safe_load(ds.attrs["resolved_config"])
            cost = ds["cost"].mean("path").to_series()
        assert seed == yaml.safe_load((run_dir / "config_resolved.yaml").read_text())["engine"]["seed"]
        assert seed == saved["engine"]["seed"] == yaml.safe_load((run_dir / ".hydra/config.yaml").read_text())[
            "engine"]["seed"]
        table = pd.read_csv(run_dir / "summary.csv", index_col="strategy")["cost_mean"]
        np.testing.assert_allclose(table.loc[cost.index].to_numpy(), cost.to_numpy(), rtol=1e-6)
        summary = (run_dir / "summary.md").read_text()
        assert f"({seconds:.1f} s of simulation)" in summary  # summary.md was written by the run of results.nc
        assert f"**Recommended: {table.idxmin()}**" in summary
        assert f"seed={seed}" in (run_dir / ".hydra/overrides.yaml").read_text().replace("engine.", "")
        seeds.add(seed)
        means.append(cost.to_numpy())
    assert seeds == {1, 2}
    assert not np.array_equal(*means)


def test_every_file_of_a_run_follows_the_umask(two_runs):
    _, dirs = two_runs
    for run_dir in dirs:
        files = [p for p in run_dir.rglob("*") if p.is_file()]
        assert run_dir / "results.nc" in files and len(files) > 5
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_an_explicit_directory_that_holds_a_run_is_refused_unless_overwrite(two_runs):
    cwd, dirs = two_runs
    target = dirs[0]
    before = (target / "results.nc").stat().st_mtime_ns
    rc, _, err = finish(start([*ARGS, f"hydra.run.dir={target}", "engine.seed=3"], cwd))
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "hydra.run.dir=" in err and "overwrite=true" in err
    assert (target / "results.nc").stat().st_mtime_ns == before
    rc, _, err = finish(start([*ARGS, f"hydra.run.dir={target}", "engine.seed=3", "overwrite=true"], cwd))
    assert rc == 0, err
    with xr.open_dataset(target / "results.nc") as ds:
        assert int(ds.attrs["seed"]) == 3
    assert yaml.safe_load((target / "config_resolved.yaml").read_text())["engine"]["seed"] == 3
    assert len(list((cwd / "outputs" / "hybrid").iterdir())) == 2  # written over, no new directory


def test_unique_dir_never_hands_one_name_to_two_callers(tmp_path):
    base = str(tmp_path / "outputs" / "hybrid" / "2026-01-01_00-00-00")
    got, barrier = [], threading.Barrier(8)

    def claim():
        barrier.wait()
        got.append(unique_dir(base))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted([base] + [f"{base}-{i}" for i in range(1, 8)])
    assert all(Path(p).is_dir() for p in got)


def test_rerun_keeps_the_unique_run_directory():
    header = yaml.safe_load(primary_config("scenario: hybrid\n"))
    assert header["hydra"]["run"]["dir"].startswith("${unique_dir:'outputs/hybrid/${now:")
    assert header["hydra"]["sweep"]["dir"].startswith("${unique_dir:'outputs/multirun/hybrid/${now:")


def test_an_explicit_sweep_directory_that_holds_a_multirun_is_refused(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    rc, _, err = finish(start(["-m", *ARGS, f"hydra.sweep.dir={sweep}", "engine.seed=1,2"], tmp_path))
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "hydra.sweep.dir=" in err, err
    assert sorted(p.name for p in sweep.iterdir()) == ["multirun.yaml"]


@pytest.mark.slow
def test_a_multirun_gets_one_new_sweep_directory_by_default(tmp_path):
    rc, _, err = finish(start(["-m", *ARGS, "decision.sensitivity.enabled=false", "engine.seed=1,2"], tmp_path))
    assert rc == 0, err
    (sweep,) = (tmp_path / "outputs" / "multirun" / "hybrid").iterdir()  # the jobs share the sweeper's directory
    assert (sweep / "sweep.nc").is_file() and (sweep / "0" / "results.nc").is_file()
    assert (sweep / "1" / "results.nc").is_file()
