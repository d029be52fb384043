"""A strategy that fails a constraint is never a winner: a synthetic run where it is the cheapest on every path.

"cheap" has the lowest cost of service on every path but every one of its training runs is late, so it fails
``decision.max_p_late``. It must not win anything in the win matrix, the dominance table, regret or P(cheapest),
kept or streamed, and must be marked in summary.md, the terminal table and the plots.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from simulator.config.load import load_config
from simulator.decision.analyse import analyse, write_tables
from simulator.stats.collector import RunStatistics

N, KEPT = 3000, 800
STRATEGIES = ("steady", "cheap", "other")
CATEGORIES = ("capex", "on_demand", "residual", "delay", "unserved")
GROUPS = ("spend", "spend", "spend", "shortfall", "shortfall")


def _outputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Engine-like outputs ``(path, strategy, ...)``: cheap = 0.7 x steady on every path but always late."""
    rng = np.random.default_rng(seed)
    steady = rng.lognormal(14.0, 0.2, N)
    other = steady * rng.lognormal(0.02, 0.05, N)
    cost = np.column_stack([steady, 0.7 * steady, other])
    shortfall = 0.1 * cost
    spend = cost - shortfall
    by_category = np.stack([0.3 * spend, 0.8 * spend, -0.1 * spend, 0.6 * shortfall, 0.4 * shortfall], axis=-1)
    lateness = np.full((N, 3, 1), -10.0)
    lateness[:, 1, 0] = 5.0
    return dict(cost=cost, spend=spend, shortfall=shortfall, delivered_gpu_hours=spend / 2.5,
                delay=np.full((N, 3), 0.5), cost_by_category=by_category, cash_by_category=by_category,
                run_lateness_days=lateness)


def _kept(out: dict[str, np.ndarray], paths: int) -> xr.Dataset:
    data = {name: (("strategy", "path"), out[name][:paths].T)
            for name in ("cost", "spend", "shortfall", "delivered_gpu_hours", "delay")}
    for name in ("cost_by_category", "cash_by_category"):
        data[name] = (("strategy", "path", "category"), out[name][:paths].swapaxes(0, 1))
    data["run_lateness_days"] = (("strategy", "path", "run"), out["run_lateness_days"][:paths].swapaxes(0, 1))
    coords = {"strategy": list(STRATEGIES), "category": list(CATEGORIES), "category_group": ("category", list(GROUPS))}
    return xr.Dataset(data, coords=coords, attrs={"paths": paths})


def _streamed(out: dict[str, np.ndarray]) -> xr.Dataset:
    stats = RunStatistics(3, 1, len(CATEGORIES), capex_column=0, budget_usd=None, capex_budget_usd=None,
                          relative_accuracy=1e-3)
    for part in np.array_split(np.arange(N), 3):
        stats.add({name: values[part] for name, values in out.items()})
    data_vars, coords = stats.data_vars()
    ds = _kept(out, KEPT).assign(data_vars).assign_coords(versus=list(STRATEGIES), **coords)
    ds.attrs["paths"] = N
    return ds


@pytest.fixture(scope="module")
def cfg():
    base = load_config(["scenario=hybrid"])
    decision = dataclasses.replace(
        base.decision, max_p_late=0.25, max_mean_delay_days=None, budget_usd=None, capex_budget_usd=None,
        sensitivity=dataclasses.replace(base.decision.sensitivity, enabled=False))
    return dataclasses.replace(base, decision=decision)


@pytest.fixture(scope="module", params=["kept", "streamed"])
def analysis(request, cfg):
    out = _outputs()
    ds = _kept(out, N) if request.param == "kept" else _streamed(out)
    return analyse(ds, cfg)


def test_the_inadmissible_cheapest_strategy_wins_nothing(analysis):
    rec, comparisons = analysis.recommendation, analysis.comparisons
    assert not rec.ranking.loc["cheap", "admissible"]
    assert rec.best == "steady" and rec.runner_up == "other"
    assert list(rec.ranking.index)[-1] == "cheap"
    win = comparisons["win"]
    assert win.attrs["inadmissible"] == ["cheap"]
    assert win.loc["cheap"].isna().all() and win["cheap"].isna().all()
    assert comparisons["win_se"].loc["cheap"].isna().all()
    assert win.loc["steady", "other"] > 0.5 and np.isfinite(win.loc["other", "steady"])
    dominance = comparisons["dominance"]
    assert "cheap" not in set(dominance["dominant"]) | set(dominance["dominated"])
    assert len(dominance) == 0 or set(dominance["dominant"]) <= {"steady", "other"}
    per = comparisons["per_strategy"]
    assert per.loc["cheap", "p_cheapest_feasible"] == 0.0 and np.isnan(per.loc["cheap", "expected_regret"])
    assert per["p_cheapest_feasible"].sum() == pytest.approx(1.0)
    assert per.loc["steady", "expected_regret"] >= 0.0


def test_service_columns_sum_to_the_cost_of_service(analysis):
    m = analysis.metrics
    np.testing.assert_allclose(m["spend_mean"] + m["shortfall_mean"], m["cost_mean"], rtol=1e-9)
    np.testing.assert_allclose(m["usd_per_gpu_hour"], 2.5, rtol=1e-9)  # spend = 2.5 x delivered on every path
    assert (m["usd_per_gpu_hour_se"] < 1e-6).all()
    assert analysis.categories.attrs["shortfall"] == ["delay", "unserved"]
    np.testing.assert_allclose(analysis.categories.sum(axis=1), m["cost_mean"], rtol=1e-9)


def test_summary_and_terminal_mark_the_inadmissible_strategy(analysis, tmp_path):
    from rich.console import Console

    from simulator.report.markdown import decision_markdown
    from simulator.report.terminal import print_terminal

    text = decision_markdown(analysis, scenario="synthetic", description="test", seconds=1.0)
    assert "**Cost of service** = spend + shortfall" in text and "`delay`, `unserved`" in text
    sections = text.split("\n## ")
    for title in ("Ranking", "Cost of service", "Spend and shortfall", "Delay", "Pairwise"):
        section = next(s for s in sections if s.startswith(title))
        assert "cheap (excluded)" in section, title
    pairwise = next(s for s in sections if s.startswith("Pairwise"))
    cheap_row = next(line for line in pairwise.splitlines() if line.startswith("| **cheap"))
    assert "±" not in cheap_row and "—" in cheap_row
    assert "| $2.50 ± 0.00" in text or "$2.50" in text
    dominance = next(s for s in sections if s.startswith("Stochastic dominance"))
    assert "left out: cheap" in dominance and "cheap dominates" not in dominance
    console = Console(record=True, width=240)
    print_terminal(analysis, scenario="synthetic", out_dir="out", console=console)
    table = console.export_text()
    row = next(line for line in table.splitlines() if "cheap (excluded)" in line)
    assert "fails P(late)" in row and "—" in row
    assert "cost of service" in table


def test_tables_and_plots_are_written(analysis, tmp_path):
    import pandas as pd

    from simulator.report.decision_plots import save_decision_plots

    names = {p.name for p in write_tables(analysis, tmp_path)} | {
        p.name for p in save_decision_plots(analysis, tmp_path)}
    assert {"summary.csv", "cost_by_category.csv", "cost_decomposition.png", "win_probability.png"} <= names
    summary = pd.read_csv(tmp_path / "summary.csv", index_col=0)
    assert {"spend_mean", "shortfall_mean_se", "usd_per_gpu_hour", "usd_per_gpu_hour_se"} <= set(summary.columns)
    win = pd.read_csv(tmp_path / "pairwise_win.csv", index_col=0)
    assert win.loc["cheap"].isna().all()


def test_sensitivity_never_pairs_the_best_with_an_inadmissible_strategy(cfg):
    """Only steady is admissible: the sensitivity section has no pair to attribute (it was steady vs cheap)."""
    out = _outputs()
    out["run_lateness_days"][:, 2, 0] = 5.0  # other fails too
    settings = dataclasses.replace(cfg.decision.sensitivity, enabled=True)
    analysis = analyse(_kept(out, N), dataclasses.replace(cfg, decision=dataclasses.replace(
        cfg.decision, sensitivity=settings)))
    assert analysis.recommendation.best == "steady" and analysis.recommendation.runner_up is None
    assert analysis.tornado is None and analysis.indices is None
    assert "Only one strategy meets the constraints" in analysis.headline
