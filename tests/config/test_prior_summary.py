"""The effective prior table: every prior of the schema, the engine's quantiles, sources, changes; the CLI."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulator.config import load_config
from simulator.config.prior_summary import COLUMNS, prior_summary, units_of, yaml_comments
from simulator.config.schema import PROVIDER_PRIORS, RUN_PRIORS
from simulator.engine._keys import PARAMETER_STREAM, stream_keys
from simulator.engine.priors import prior_table, sample_parameters

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def steady():
    overrides = ["scenario=steady", "priors.market.drift_per_year.mean=-0.3"]
    cfg = load_config(overrides)
    return cfg, prior_summary(cfg, overrides)


def schema_priors(cfg) -> set[str]:
    """The priors of the schema, found independently of flat_priors: every PriorSpec field of a prior group, and
    the uncertain fields of each run and provider."""
    names = {f"{group.name}.{f.name}" for group in dataclasses.fields(cfg.priors)
             for f in dataclasses.fields(getattr(cfg.priors, group.name))}
    names |= {f"runs.{run}.{field}" for run in cfg.runs for field in RUN_PRIORS}
    return names | {f"providers.{p}.{field}" for p in cfg.providers for field in PROVIDER_PRIORS}


def test_every_prior_listed_none_invented(steady):
    cfg, table = steady
    assert list(table.columns) == COLUMNS
    assert table["prior"].is_unique and set(table["prior"]) == schema_priors(cfg)
    assert (table["p10"] <= table["p50"]).all() and (table["p50"] <= table["p90"]).all()
    assert table["source"].str.len().gt(0).all()  # every prior has its comment


def test_scenario_and_override_changes_are_flagged(steady):
    _, table = steady
    rows = table.set_index("prior")
    assert rows.loc["workload.base_gpu_hours_per_day", "changed"]  # conf/scenario/steady.yaml sets it
    assert rows.loc["market.drift_per_year", "changed"]
    assert rows.loc["market.drift_per_year", "source"] == "override: priors.market.drift_per_year.mean=-0.3"
    assert rows.loc["market.drift_per_year", "distribution"] == "normal(mean -0.3, sd 0.15)"
    assert not rows.loc["market.volatility_per_year", "changed"]
    hybrid = prior_summary(load_config(["scenario=hybrid"]))
    assert not hybrid["changed"].any()  # the hybrid scenario keeps every default prior


def test_quantiles_are_those_the_engine_draws(steady):
    """P(theta <= p_q) of the engine's draws is q within 4 binomial SEs, sqrt(q (1 - q) / N); fixed priors exact."""
    cfg, table = steady
    n = 20_000
    keys = stream_keys(jax.random.key(7), PARAMETER_STREAM, jnp.arange(n))
    draws = {k: np.asarray(v, np.float64) for k, v in sample_parameters(prior_table(cfg), keys, jnp.float32).items()}
    for _, row in table.iterrows():
        x = draws[row["prior"]]
        if row["distribution"].startswith("fixed"):
            np.testing.assert_allclose(x, row["p50"], rtol=1e-6)
            continue
        for q, col in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
            z = (np.mean(x <= row[col]) - q) / np.sqrt(q * (1 - q) / n)
            assert abs(z) < 4, (row["prior"], col, z)


def test_units_and_missing_rule():
    assert units_of("market.hardware_usd_per_gpu") == "USD/GPU"
    assert units_of("providers.neocloud.spot_discount") == "fraction"
    assert units_of("runs.x.late_usd_per_day") == "USD/day"
    with pytest.raises(KeyError, match="no units"):
        units_of("market.brand_new_thing")


def test_yaml_comments_reader(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("# file header\n\ngroup:  # the group\n  # above a\n  # second line [U]\n  a: 1\n  b: 2\n\n"
                    "  c: {dist: fixed, value: 1}  # inline [V]\nother:\n  d: 3\n")
    comments = yaml_comments(path, "pkg")
    assert comments["pkg.group"] == "the group"
    assert comments["pkg.group.a"] == "above a second line [U]"
    assert comments["pkg.group.b"] == "above a second line [U]"  # a sibling right below shares it
    assert comments["pkg.group.c"] == "inline [V]"
    assert comments["pkg.other.d"] == ""


def run_priors(args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "simulator.priors", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_priors_command_prints_every_prior_and_writes_the_png(tmp_path, steady):
    cfg, table = steady
    result = run_priors(["scenario=steady", "priors.market.drift_per_year.mean=-0.3", "--out", "figs"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in table["prior"])
    assert (tmp_path / "figs" / "priors.png").stat().st_size > 10_000
    bad = run_priors(["scenario=nope"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("config error: scenario=nope")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs"]  # nothing written by the failed call
