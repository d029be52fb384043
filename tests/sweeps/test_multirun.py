"""Hydra multirun aggregation (simulator.sweeps.multirun, simulator.sweeps.breakeven, simulator.sweeps.plots) and the launchers.

The end-to-end tests run ``python -m simulator -m`` in a subprocess on a tiny engine (``debug=tiny``: 96 paths,
6 months, no per-job plots; no sensitivity) and check the combined ``sweep.nc`` against each job's own ``summary.csv``.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from simulator.sweeps.breakeven import crossings, noise_interval, zero_crossings

TINY = ["scenario=hybrid", "debug=tiny", "decision.sensitivity.enabled=false"]  # conf/debug/tiny.yaml
PRICE = "providers.hyperscaler.on_demand_usd_per_gpu_hour.median"
DEMAND = "priors.workload.base_gpu_hours_per_day.median"


def multirun(args, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    sweep_dir = tmp_path / "sweep"
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "-m", *TINY, *args, f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, sweep_dir


def job_values(job_dir: Path) -> dict[str, str]:
    """A job's overrides read independently of simulator.sweeps.multirun (plain YAML, split at the first '=')."""
    lines = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())
    return dict(line.split("=", 1) for line in lines)


def test_break_even_of_two_linear_objectives_is_exact():
    # J_A = 100 + 3x, J_B = 250 + x: d = J_B - J_A = 150 - 2x vanishes at x* = 75, between grid values 40 and 80.
    x = np.array([0.0, 40.0, 80.0, 120.0])
    d = (250 + x) - (100 + 3 * x)
    np.testing.assert_allclose(zero_crossings(x, d), [75.0])
    # constant SE s: |150 - 2x| < z s  <=>  |x - 75| < z s / 2
    low, high = noise_interval(x, d, np.full_like(x, 10.0), 75.0, z=2.0)
    np.testing.assert_allclose([low, high], [65.0, 85.0])
    assert zero_crossings(x, np.ones_like(x)).size == 0


def test_crossings_on_a_two_axis_grid_follow_the_closed_form():
    # J_A = 100 + 3x, J_B = 250 + x + y: B is best above x* = (150 + y) / 2, for every value y of the other axis.
    x, y = np.array([0.0, 50.0, 100.0, 150.0]), np.array([0.0, 30.0])
    gx, gy = np.meshgrid(x, y, indexing="ij")
    objective = np.stack([100 + 3 * gx, 250 + gx + gy], axis=-1)
    ds = xr.Dataset(
        {
            "objective": (("x", "y", "strategy"), objective),
            "objective_se": (("x", "y", "strategy"), np.ones_like(objective)),
            "admissible": (("x", "y", "strategy"), np.ones_like(objective, dtype=bool)),
            "best": (("x", "y"), np.where(objective[..., 0] <= objective[..., 1], "A", "B").astype(object)),
        },
        coords={"x": x, "y": y, "strategy": ["A", "B"]},
    )
    found = crossings(ds, "x")
    assert [(c.before, c.after, c.reason) for c in found] == [("A", "B", "objective")] * 2
    np.testing.assert_allclose([c.x for c in found], [(150 + c.at["y"]) / 2 for c in found])
    assert all(c.low < c.x < c.high for c in found)


def test_scenario_file_sweep_validates_and_declares_its_keys():
    from hydra import compose, initialize_config_dir

    from simulator.config.load import CONF_DIR, load_config
    from simulator.sweeps.multirun import swept_keys

    config = load_config(
        ["scenario=breakeven"]
    )  # the hydra: node of the scenario is masked, the rest validates
    assert config.providers["hyperscaler"].on_demand_usd_per_gpu_hour.dist == "fixed"
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["scenario=breakeven"], return_hydra_config=True)
    assert swept_keys(cfg) == [
        "priors.workload.base_gpu_hours_per_day.value",
        "providers.hyperscaler.on_demand_usd_per_gpu_hour.value",
    ]
    for launcher in ("parallel", "slurm"):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
        assert "Launcher" in cfg.hydra.launcher._target_


def test_submitit_local_sweep_combines_each_jobs_summary(tmp_path):
    result, sweep_dir = multirun(["hydra/launcher=submitit_local", f"{PRICE}=3.0,5.0"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (sweep_dir / ".submitit").is_dir()  # the jobs went through submitit's local executor
    ds = xr.open_dataset(sweep_dir / "sweep.nc")
    assert ds["best"].dims == (PRICE,) and ds[PRICE].values.tolist() == [3.0, 5.0]
    assert ds[PRICE].dtype.kind == "f" and ds["completed"].all()
    job_dirs = [p.parent.parent for p in sweep_dir.glob("*/.hydra/overrides.yaml")]
    assert len(job_dirs) == 2
    for job_dir in job_dirs:
        price = float(job_values(job_dir)[PRICE])
        expected = pd.read_csv(job_dir / "summary.csv", index_col="strategy")
        cell = ds.sel({PRICE: price})
        assert list(cell["strategy"].values) == list(expected.index)
        for column in ("cost_mean", "cost_mean_se", "objective", "objective_se", "p_late", "rank"):
            np.testing.assert_allclose(cell[column].values, expected[column].to_numpy(float), rtol=1e-12)
        np.testing.assert_array_equal(cell["admissible"].values, expected["admissible"].to_numpy(bool))
        verdict = pd.read_csv(job_dir / "recommendation.csv").iloc[0]
        assert cell["best"].item() == verdict["best"]
        np.testing.assert_allclose(cell["margin_se"].item(), verdict["margin_se"])
    summary = (sweep_dir / "sweep_summary.md").read_text()
    assert "Break-even points" in summary and "Failed jobs (left out): none" in summary


def test_two_axis_sweep_draws_a_decision_map_and_leaves_failed_jobs_out(tmp_path):
    # median 12.0 is above the prior's p90 (11.0): those two jobs fail validation (exit 2 when run alone)
    result, sweep_dir = multirun([f"{PRICE}=3.0,5.0,12.0", f"{DEMAND}=200,400"], tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "2 of 6 jobs failed" in result.stderr and "must be >= 12" in result.stderr
    ds = xr.open_dataset(sweep_dir / "sweep.nc")
    assert ds["best"].dims == (PRICE, DEMAND)
    assert ds[PRICE].values.tolist() == [3.0, 5.0, 12.0] and ds[DEMAND].values.tolist() == [200, 400]
    assert ds["cost_mean"].dims == (PRICE, DEMAND, "strategy")
    assert ds["completed"].sel({PRICE: [3.0, 5.0]}).all() and not ds["completed"].sel({PRICE: 12.0}).any()
    assert np.isnan(ds["objective"].sel({PRICE: 12.0})).all()
    assert np.isfinite(ds["objective"].sel({PRICE: [3.0, 5.0]})).all()
    for name in ("decision_map.png", "break_even.png", "sweep_summary.md", "sweep_report.html"):
        assert (sweep_dir / name).stat().st_size > 0, name
    assert "must be >= 12" in (sweep_dir / "sweep_summary.md").read_text()
    page = (sweep_dir / "sweep_report.html").read_text()
    assert "must be &gt;= 12" in page and page.count('<img src="data:image/png;base64,') >= 2
    assert not list(sweep_dir.glob("*.tmp"))


@pytest.mark.slow
def test_breakeven_scenario_sweep_end_to_end(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    sweep_dir = tmp_path / "sweep"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "-m",
            "scenario=breakeven",
            "debug=tiny",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ds = xr.open_dataset(sweep_dir / "sweep.nc")
    assert ds.sizes["priors.workload.base_gpu_hours_per_day.value"] == 4
    assert ds.sizes["providers.hyperscaler.on_demand_usd_per_gpu_hour.value"] == 4
    assert ds["completed"].all() and (sweep_dir / "decision_map.png").is_file()


def synthetic_job(num, values, objectives, admissible=None):
    from simulator.sweeps.multirun import Job

    names = list(objectives)
    ok = admissible or dict.fromkeys(names, True)
    ranks = {n: r + 1 for r, n in enumerate(sorted((n for n in names if ok[n]), key=objectives.get))}
    summary = pd.DataFrame(
        {
            "objective": [objectives[n] for n in names],
            "objective_se": [1.0] * len(names),
            "cost_mean": [objectives[n] for n in names],
            "rank": [ranks.get(n, np.nan) for n in names],
            "admissible": [ok[n] for n in names],
            "excluded_because": ["" if ok[n] else "P(late) too high" for n in names],
        },
        index=pd.Index(names, name="strategy"),
    )
    return Job(num, Path(f"/nowhere/{num}"), values, summary, None, None)


def test_combine_three_axes_with_text_values_and_different_strategies(tmp_path):
    from simulator.sweeps.breakeven import sweep_summary_markdown
    from simulator.sweeps.multirun import combine
    from simulator.sweeps.plots import save_sweep_plots

    jobs, num = [], 0
    for scenario in ("small", "large"):
        for x in (1.0, 2.0, 3.0):
            for y in (10, 20):
                objectives = {"A": 10 * x, "B": 25.0 + y / 10}
                if scenario == "large":
                    objectives["C"] = 100.0
                jobs.append(synthetic_job(num, {"scenario": scenario, "x": x, "y": y}, objectives))
                num += 1
    ds = combine(jobs)
    assert ds["objective"].dims == ("scenario", "x", "y", "strategy")
    assert list(ds["scenario"].values) == ["small", "large"]  # text values keep the jobs' order
    assert (
        list(ds["strategy"].values) == ["A", "B", "C"]
        and ds["x"].dtype.kind == "f"
        and ds["y"].dtype.kind == "i"
    )
    assert np.isnan(ds["objective"].sel(scenario="small", strategy="C")).all()
    # A (10x) against B (25 + y/10): B becomes best at x* = 2.5 + y/100, between 2 and 3
    assert (ds["best"].sel(x=3.0) == "B").all() and (ds["best"].sel(x=1.0) == "A").all()
    np.testing.assert_allclose(ds["margin_se"].values, np.sqrt(2.0))  # unpaired: no recommendation.csv
    written = save_sweep_plots(ds, tmp_path)
    assert [p.name for p in written] == ["decision_map.png", "break_even.png"]
    text = sweep_summary_markdown(ds)
    assert "A -> B at x = 2.6 " in text and "A -> B at x = 2.7 " in text
