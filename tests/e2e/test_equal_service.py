"""Issue 12's acceptance: strategies are compared at equal service, so one that cannot serve the demand is not cheap.

An owned fleet far too small for the demand of ``scenario=hybrid`` (4 GPUs for ~16 GPUs of steady work and a 32-wide
run, no rental bridge) spends less than renting, but its cost of service (spend + priced delay, lateness and unserved
work) is higher, pathwise on common random numbers (|z| > 4); it fails the constraints, and no pairwise view of the
analysis (win matrix, dominance, regret, P(cheapest)) shows it as a winner.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import strategy

from simulator.config.load import load_config
from simulator.decision.analyse import analyse
from simulator.engine.host import simulate
from simulator.results.dataset import build_dataset

PATHS = 400


@pytest.fixture(scope="module")
def undersized():
    cfg = load_config(["scenario=hybrid", "engine.horizon_months=12", f"engine.paths={PATHS}", "engine.seed=3",
                       "decision.sensitivity.enabled=false"])
    cfg = dataclasses.replace(cfg, strategies={"on_demand": strategy(("on_demand", 1024)),
                                               "spot": strategy(("spot", 1024), ("on_demand", 1024)),
                                               "small_owned": strategy(("owned", 4))})
    ds = build_dataset(simulate(cfg), seed=3, scenario="hybrid")
    return cfg, ds


def _z(x: np.ndarray) -> float:
    return float(x.mean() / (x.std(ddof=1) / np.sqrt(x.size)))


def test_undersized_fleet_spends_less_but_costs_more(undersized):
    _, ds = undersized
    spend, cost = ds["spend"], ds["cost"]
    assert _z((spend.sel(strategy="on_demand") - spend.sel(strategy="small_owned")).values) > 4  # renting spends more
    assert _z((cost.sel(strategy="small_owned") - cost.sel(strategy="on_demand")).values) > 4  # small costs more
    np.testing.assert_allclose(ds["cost"], ds["spend"] + ds["shortfall"], rtol=1e-5)
    np.testing.assert_allclose(ds["cost"], ds["cost_by_category"].sum("category"), rtol=1e-5)


def test_no_pairwise_view_shows_the_undersized_fleet_as_a_winner(undersized):
    cfg, ds = undersized
    analysis = analyse(ds, cfg)
    rec, comparisons = analysis.recommendation, analysis.comparisons
    assert not rec.ranking.loc["small_owned", "admissible"]
    assert rec.best in ("on_demand", "spot") and rec.runner_up in ("on_demand", "spot")
    win = comparisons["win"]
    assert win.loc["small_owned"].isna().all() and win["small_owned"].isna().all()
    dominance = comparisons["dominance"]
    assert "small_owned" not in set(dominance["dominant"]) | set(dominance["dominated"])
    per = comparisons["per_strategy"]
    assert per.loc["small_owned", "p_cheapest_feasible"] == 0.0
    assert per["p_cheapest_feasible"].sum() == pytest.approx(1.0)
