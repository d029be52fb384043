"""The command line end to end, in a subprocess: files, their contents, and one-line errors that write nothing."""

import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from simulator.results.variables import kind_of

FAST = ["debug=tiny", "report.plots=true", "report.print_summary=true"]  # conf/debug/tiny.yaml, with every output


def run_cli(args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli")
    result = run_cli(["scenario=hybrid", *FAST], cwd)
    assert result.returncode == 0, result.stderr
    (run_dir,) = list((cwd / "outputs" / "hybrid").iterdir())
    return result, run_dir


def test_run_writes_every_file(cli_run):
    result, run_dir = cli_run
    for name in (
        "results.nc",
        "summary.md",
        "summary.csv",
        "config_resolved.yaml",
        "cost_distribution.png",
        "delay_distribution.png",
        "cost_fan_chart.png",
        "risk_map.png",
        "risk_map_lateness.png",
        "win_probability.png",
        "tornado.png",
        "sensitivity_indices.png",
        "pairwise_win.csv",
        "tornado.csv",
        ".hydra/config.yaml",
    ):
        assert (run_dir / name).is_file(), name
    assert "hybrid" in result.stdout and "mean cost" in result.stdout
    assert "Recommended: " in result.stdout and "standard errors" in result.stdout
    assert "depends mostly on" in result.stdout
    summary = (run_dir / "summary.md").read_text()
    assert "## Recommendation" in summary and "Margin over" in summary and "| hybrid |" in summary
    assert not list(run_dir.glob("*.tmp"))


def test_results_dataset_contents(cli_run):
    _, run_dir = cli_run
    with xr.open_dataset(run_dir / "results.nc") as ds:
        assert list(ds["strategy"].values) == ["on_demand", "neocloud", "reserved_1y", "spot", "onprem", "colocation",
                                               "hybrid", "marketplace"]
        assert ds.sizes["path"] == 96 and ds.sizes["trajectory_path"] == 50 and ds.sizes["month"] == 6
        assert ds["cost"].dims == ("strategy", "path")
        for name in (
            "cost",
            "delay",
            "cost_by_category",
            "cash_by_category",
            "run_finish_day",
            "run_lateness_days",
            "cumulative_cost",
        ):
            assert name in ds
        for name, var in ds.data_vars.items():
            assert {"units", "long_name", "description"} <= set(var.attrs), name
            kind = kind_of(name)  # every variable has a row in simulator.results.variables (or is a param_*)
            assert ("month" in var.dims) == (kind == "trajectory") and kind != "streamed", name
            assert np.isfinite(var.values).all(), name
        for attr in ("seed", "resolved_config", "version_jax", "device", "created_at", "scenario"):
            assert attr in ds.attrs, attr
        assert "engine:" in ds.attrs["resolved_config"] and ds.attrs["seed"] == 0
        # the category breakdown adds up to the total
        np.testing.assert_allclose(ds["cost_by_category"].sum("category"), ds["cost"], rtol=1e-9)
        assert (ds["cost"].sel(strategy="on_demand") > 0).all()


def test_summary_matches_dataset(cli_run):
    _, run_dir = cli_run
    import pandas as pd

    summary = pd.read_csv(run_dir / "summary.csv", index_col=0)
    with xr.open_dataset(run_dir / "results.nc") as ds:
        np.testing.assert_allclose(summary["cost_mean"], ds["cost"].mean("path").values, rtol=1e-9)


@pytest.mark.parametrize(
    "args, key",
    [
        (["engine.paths=-1"], "engine.paths"),
        (["providers.hyperscaler.spot_discount={dist:fixed,value:1.5}"], "providers.hyperscaler.spot_discount"),
        (["scenario=does_not_exist"], "scenario=does_not_exist"),
        (["engine.typo=1"], "engine.typo"),
    ],
)
def test_bad_input_exits_with_one_line_and_writes_nothing(tmp_path, args, key):
    result = run_cli(args, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "outputs").exists()


def test_the_job_value_is_the_recommended_objective():
    """``run_job`` returns what a sweeper should minimise: the recommended strategy's objective, NaN if none."""
    from types import SimpleNamespace

    import pandas as pd

    from simulator.app.run import recommended_objective

    metrics = pd.DataFrame({"objective": [3.0, 2.0]}, index=["first", "best"])
    chosen = SimpleNamespace(metrics=metrics, recommendation=SimpleNamespace(best="best"))
    assert recommended_objective(chosen) == 2.0
    assert np.isnan(recommended_objective(SimpleNamespace(metrics=metrics, recommendation=SimpleNamespace(best=None))))
    metrics["admissible"] = [True, False]  # decision.optimise_strategy: that strategy's objective, +inf if infeasible
    assert recommended_objective(chosen, "first") == 3.0 and recommended_objective(chosen, "best") == np.inf
