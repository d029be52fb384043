"""``python -m simulator.diff``: the config diff, and the changes of the margin and metrics with paired or
independent SEs, checked against a computation of our own on the two Datasets."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.app.diff_cmd import diff_report, load_run
from simulator.decision.run_diff import config_diff, decision_changes

ROOT = Path(__file__).resolve().parents[2]
GROWTH = "priors.workload.growth_multiplier_per_year.median"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three tiny runs in one process (the engine compiles once): A, B = A with faster demand growth (same seed),
    C = A with another seed."""
    root = tmp_path_factory.mktemp("diff")
    base = ["debug=tiny", "decision.sensitivity.tornado_priors=0"]  # no tornado re-runs: quicker
    for name, extra in (("a", []), ("b", [f"{GROWTH}=3.0", "priors.workload.growth_multiplier_per_year.p90=4.5"]),
                        ("c", ["engine.seed=1"])):
        simulator.run("hybrid", base + extra, write=True, out_dir=root / name)
    return root


def test_config_diff_is_flat_and_key_by_key():
    table = config_diff("a: {b: 1, c: [1, 2]}\nd: x\n", "a: {b: 2, c: [1, 2]}\ne: y\n")
    assert table.values.tolist() == [["a.b", 1, 2], ["d", "x", None], ["e", None, "y"]]


def test_diff_names_the_prior_and_pairs_the_margin_change(runs):
    ds_a, yaml_a, dec_a = load_run(runs / "a")
    ds_b, yaml_b, dec_b = load_run(runs / "b")
    assert set(config_diff(yaml_a, yaml_b)["key"]) == {GROWTH, "priors.workload.growth_multiplier_per_year.p90"}
    changes = decision_changes(ds_a, ds_b, dec_a, dec_b)
    assert changes["paired"]
    # our own computation on the Datasets: the pathwise margin of each run, then the pathwise difference
    margin = lambda ds, dec: (ds["cost"].sel(strategy=dec.runner_up) - ds["cost"].sel(strategy=dec.best)).values  # noqa: E731
    d = margin(ds_b, dec_b) - margin(ds_a, dec_a)
    m = changes["margin"]
    assert m.change == pytest.approx(d.mean(), rel=1e-12)
    assert m.se == pytest.approx(d.std(ddof=1) / math.sqrt(d.size), rel=1e-12)
    rec_a = pd.read_csv(runs / "a" / "recommendation.csv").iloc[0]
    assert m.a == pytest.approx(rec_a["margin"], rel=1e-9)  # the margin the run itself recorded
    summary = pd.read_csv(runs / "a" / "summary.csv", index_col="strategy")
    ranking = changes["ranking"].set_index("strategy")
    np.testing.assert_allclose(ranking["objective_a"], summary.loc[ranking.index, "objective"], rtol=1e-9)
    cvar = changes["metrics"].query("metric == 'cvar'").set_index("strategy")["a"]
    np.testing.assert_allclose(cvar, summary.loc[cvar.index, "cost_cvar"], rtol=1e-9)  # the run's own estimates
    independent = math.hypot(rec_a["margin_se"], pd.read_csv(runs / "b" / "recommendation.csv")["margin_se"][0])
    assert m.se < independent  # common random numbers: the paired SE is the smaller one here
    text = diff_report(runs / "a", runs / "b")
    assert GROWTH in text and "margin (runner-up - best)" in text and "paired" in text


def test_independent_se_for_different_seeds(runs):
    ds_a, _, dec_a = load_run(runs / "a")
    ds_c, yaml_c, dec_c = load_run(runs / "c")
    changes = decision_changes(ds_a, ds_c, dec_a, dec_c)
    assert not changes["paired"]
    se = lambda x: np.std(x, ddof=1) / math.sqrt(x.size)  # noqa: E731
    row = changes["metrics"].query("strategy == 'spot' and metric == 'mean_cost'").iloc[0]
    cost_a, cost_c = (ds["cost"].sel(strategy="spot").values for ds in (ds_a, ds_c))
    assert row["change"] == pytest.approx(cost_c.mean() - cost_a.mean(), rel=1e-12)
    assert row["change_se"] == pytest.approx(math.hypot(se(cost_a), se(cost_c)), rel=1e-12)
    rec = [pd.read_csv(runs / n / "recommendation.csv").iloc[0] for n in ("a", "c")]
    if dec_a.runner_up and dec_c.runner_up:  # the recorded pathwise margin SEs, combined independently
        assert changes["margin"].se == pytest.approx(math.hypot(rec[0]["margin_se"], rec[1]["margin_se"]), rel=1e-9)
    assert "engine.seed" in set(config_diff(load_run(runs / "a")[1], yaml_c)["key"])


def test_diff_command_writes_the_report_and_refuses_a_bad_directory(runs, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "simulator.diff", str(runs / "a"), str(runs / "b"), "--out", str(tmp_path / "d.md")]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d.md").read_text() == result.stdout and GROWTH in result.stdout
    bad = subprocess.run([*cmd[:3], str(tmp_path), str(runs / "b")], capture_output=True, text=True, env=env,
                         timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "no results.nc" in bad.stderr
