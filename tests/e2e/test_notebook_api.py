"""The notebook API of README and ``simulator/__init__``: load, simulate, label and analyse, no files written."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import simulator


def test_notebook_api_runs_end_to_end_without_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = simulator.load_config(["scenario=hybrid", "debug=tiny"])
    ds = simulator.build_dataset(simulator.simulate(cfg), seed=cfg.engine.seed)
    analysis = simulator.analyse(ds, cfg, rerun=simulator.EngineRerun(cfg))
    np.testing.assert_array_equal(ds["run_deadline_day"].values, [r.deadline_day for r in cfg.runs.values()])
    assert list(analysis.metrics.index) == list(cfg.strategies)
    assert analysis.recommendation.best in cfg.strategies
    assert analysis.tornado is not None and len(analysis.tornado) > 0  # the injected re-run was used
    assert not any(tmp_path.iterdir())  # nothing written


def test_run_without_writing_returns_dataset_and_analysis(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = simulator.run("hybrid", overrides=["debug=tiny"], write=False)
    assert isinstance(res.dataset, xr.Dataset) and res.dataset.sizes["path"] == 96
    assert res.analysis.recommendation.best in res.config.strategies
    assert res.run_dir is None and not any(tmp_path.iterdir())
    assert "scenario: hybrid" in res.resolved_config
    assert res.analysis.recommendation.ranking.index[0] in repr(res)
    assert "| rank | strategy |" in res._repr_markdown_()


def test_run_writes_a_run_directory_and_leaves_global_state_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a non-default backend, as a notebook has its own
    try:
        _run_and_check_global_state(tmp_path)
    finally:
        matplotlib.use(before)


def _run_and_check_global_state(tmp_path):
    handlers, level = list(logging.getLogger().handlers), logging.getLogger().level
    rc = dict(matplotlib.rcParams)
    res = simulator.run("hybrid", overrides=["debug=tiny", "report.plots=true"], write=True)
    assert res.run_dir.parent == Path("outputs") / "hybrid"
    for name in ("results.nc", "summary.md", "config_resolved.yaml", "cost_distribution.png"):
        assert (res.run_dir / name).is_file(), name
    assert matplotlib.get_backend() == "svg"
    assert logging.getLogger().handlers == handlers and logging.getLogger().level == level
    assert os.getcwd() == str(tmp_path)
    changed = {k for k, v in matplotlib.rcParams.items() if k != "backend" and str(rc.get(k)) != str(v)}
    assert not changed  # seaborn's theme stayed inside the run
    assert not plt.get_fignums()  # no pyplot figure opened


def test_run_dir_for_never_reuses_a_directory(tmp_path):
    import datetime as dt

    from simulator.app.notebook import run_dir_for

    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    first = run_dir_for("hybrid", now, root=tmp_path)
    assert first == tmp_path / "hybrid" / "2026-01-02_03-04-05" and first.is_dir()  # created: the name is taken
    assert run_dir_for("hybrid", now, root=tmp_path).name == "2026-01-02_03-04-05-1"  # as the command line's


@pytest.mark.slow  # ~35 s: a fresh process compiles the engine
def test_quickstart_example_runs(tmp_path):
    """examples/quickstart.py, as a user runs it (tiny and without tornado re-runs, to stay quick)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, str(root / "examples" / "quickstart.py"), "debug=tiny",
                             "decision.sensitivity.tornado_priors=0"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "RunResult(scenario='hybrid'" in result.stdout and "priors.workload.growth_multiplier_per_year" in result.stdout
    assert len(list((tmp_path / "outputs" / "hybrid").glob("*/results.nc"))) == 2
