"""Hydra's Optuna sweeper over a multirun: each job returns ``decision.optimise_strategy``'s objective (``+inf`` when
it fails a constraint) and the trials are aggregated along ``trial`` (simulator.sweeps.multirun, breakeven)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator.sweeps.breakeven import sweep_summary_markdown
from simulator.sweeps.multirun import combine, job_value
from tests.sweeps.test_multirun import synthetic_job

ROOT = Path(__file__).resolve().parents[2]


def test_job_value_is_the_optimised_strategys_objective_or_a_penalty():
    job = synthetic_job(0, {}, {"a": 5.0, "h@x=1": 3.0, "h@x=2": 2.0, "s": 1.0},
                        admissible={"a": True, "h@x=1": True, "h@x=2": False, "s": False})
    assert job_value(job.summary) == 3.0  # the best admissible strategy's
    assert job_value(job.summary, "a") == 5.0
    assert job_value(job.summary, "h") == 3.0  # the best admissible variant of an in-engine sweep
    assert job_value(job.summary, "s") == np.inf  # fails a constraint: the penalty


def test_trials_are_laid_out_along_trial_best_first():
    values = [(3, 0.7), (17, 0.9), (40, 0.6), (9, 0.8)]
    objective = [30.0, 12.0, 20.0, 11.0]
    jobs = [synthetic_job(i, {"base": b, "threshold": t}, {"hybrid": o, "spot": 25.0},
                          admissible={"hybrid": i != 3, "spot": True}) for i, ((b, t), o) in
            enumerate(zip(values, objective, strict=True))]
    ds = combine(jobs, ["base", "threshold"], "hybrid", trials=True)
    assert ds["value"].dims == ("trial",) and list(ds["base"].values) == [3, 17, 40, 9]
    np.testing.assert_allclose(ds["value"].values, [30.0, 12.0, 20.0, np.inf])
    assert ds["objective"].dims == ("trial", "strategy")
    text = sweep_summary_markdown(ds)
    table = [row for row in text[text.index("| trial"):].splitlines() if row.startswith("|")]
    assert [row.split("|")[1].strip() for row in table[2:]] == ["1", "2", "0", "3"]
    assert "infeasible" in table[-1] and "3 of 4 trials feasible" in text


@pytest.mark.slow
def test_optuna_sweeper_runs_three_trials(tmp_path):
    """``python -m simulator -m hydra/sweeper=optuna`` on debug=tiny: three trials, each job's value the hybrid's
    objective; Optuna's best value is the lowest trial value of sweep.nc."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    sweep_dir = tmp_path / "sweep"
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "-m", "scenario=hybrid", "debug=tiny", "decision.sensitivity.enabled=false",
         "hydra/sweeper=optuna", "hydra.sweeper.n_trials=3", "hydra.sweeper.sampler.seed=1",
         "decision.optimise_strategy=hybrid", "strategies.hybrid.pools.base.gpus=int(interval(0,64))",
         "strategies.hybrid.expansion.gpus=choice(0,8,16)", f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    ds = xr.open_dataset(sweep_dir / "sweep.nc")
    assert ds.sizes["trial"] == 3 and ds["completed"].all()
    import yaml

    best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(float(ds["value"].min()), rel=1e-9)
    assert "## Optimisation trials" in (sweep_dir / "sweep_summary.md").read_text()
