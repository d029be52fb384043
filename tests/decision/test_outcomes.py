"""One statistics path: the same paths read as kept outcomes and as streamed statistics give the same metrics (the
order statistics within the sketch's bound), the same margin and the same recommendation; the noise rule follows the
decision's confidence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from simulator.config.schema import DecisionConfig
from simulator.decision import metrics
from simulator.decision.outcomes import PathOutcomes, StreamedOutcomes, is_streamed, outcomes_of
from simulator.decision.recommend import recommend
from simulator.stats.collector import RunStatistics

ALPHA = 1e-3
N, KEPT = 6000, 1500
STRATEGIES = ("steady", "risky", "tied")
CATEGORIES = ("capex", "usage")


def _outputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Engine-like outputs ``(path, strategy, ...)``: correlated lognormal costs, a strategy tied with the first on
    a third of the paths, delays with an atom at zero, two runs that are sometimes late."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=N)
    steady = np.exp(14.0 + 0.1 * common + 0.05 * rng.normal(size=N))
    risky = np.exp(13.9 + 0.6 * common + 0.1 * rng.normal(size=N))
    tied = np.where(rng.random(N) < 1 / 3, steady, steady * 1.02)
    cost = np.column_stack([steady, risky, tied])
    delay = np.where(rng.random((N, 3)) < 0.5, 0.0, rng.exponential(2.0, (N, 3)))
    capex = np.column_stack([np.full(N, 4e5), np.zeros(N), rng.uniform(0, 8e5, N)])
    cash = np.stack([capex, cost - capex], axis=-1)
    lateness = rng.normal(-5.0, 4.0, (N, 3, 2))
    return dict(cost=cost, delay=delay, cost_by_category=cash, cash_by_category=cash, run_lateness_days=lateness)


def _datasets(budget: float | None, capex_budget: float | None) -> tuple[xr.Dataset, xr.Dataset]:
    """The same paths as a kept Dataset (every path) and as a streamed one (statistics over all, first KEPT kept)."""
    out = _outputs()
    stats = RunStatistics(len(STRATEGIES), 2, len(CATEGORIES), capex_column=0, budget_usd=budget,
                          capex_budget_usd=capex_budget, relative_accuracy=ALPHA)
    for part in np.array_split(np.arange(N), 4):
        stats.add({name: values[part] for name, values in out.items()})
    data_vars, coords = stats.data_vars()

    def kept(paths: int) -> xr.Dataset:
        return xr.Dataset(
            {
                "cost": (("strategy", "path"), out["cost"][:paths].T),
                "delay": (("strategy", "path"), out["delay"][:paths].T),
                "cash_by_category": (("strategy", "path", "category"), out["cash_by_category"][:paths].swapaxes(0, 1)),
                "run_lateness_days": (("strategy", "path", "run"), out["run_lateness_days"][:paths].swapaxes(0, 1)),
            },
            coords={"strategy": list(STRATEGIES), "category": list(CATEGORIES)},
            attrs={"paths": paths},
        )

    streamed = kept(KEPT).assign(data_vars).assign_coords(versus=list(STRATEGIES), **coords)
    streamed.attrs.update({f"stream_{k}": v for k, v in (("budget_usd", budget), ("capex_budget_usd", capex_budget))
                           if v is not None})
    streamed.attrs["paths"] = N
    return kept(N), streamed


@pytest.fixture(scope="module")
def runs():
    return _datasets(budget=1.3e6, capex_budget=5e5)


def test_outcomes_of_picks_the_implementation(runs):
    full, streamed = runs
    assert not is_streamed(full) and is_streamed(streamed)
    assert isinstance(outcomes_of(full), PathOutcomes) and isinstance(outcomes_of(streamed), StreamedOutcomes)
    assert outcomes_of(streamed).n == N and outcomes_of(streamed).path_level.n == KEPT


@pytest.mark.parametrize("budget", [1.3e6, 1.5e6, None])  # the run's budget (streamed), another one, none
def test_metric_tables_agree_within_the_sketch_bound(runs, budget):
    full, streamed = runs
    settings = dict(quantiles=(0.05, 0.5, 0.95), level=0.9, confidence=0.9, budget_usd=budget)
    exact = metrics.risk_metrics(outcomes_of(full), **settings)
    sketched = metrics.risk_metrics(outcomes_of(streamed), **settings)
    assert list(sketched.columns) == list(exact.columns)
    assert sketched.attrs["paths"] == exact.attrs["paths"] == N and sketched.attrs["path_level_paths"] == KEPT
    for column in ("cost_mean", "cost_mean_se", "cost_sd", "delay_mean", "delay_mean_se", "p_late", "p_late_se"):
        np.testing.assert_allclose(sketched[column], exact[column], rtol=1e-9, err_msg=column)
    for column in ("cost_p5", "cost_p95_lo", "cost_p95_hi", "cost_var"):  # order statistics, within alpha
        np.testing.assert_allclose(sketched[column], exact[column], rtol=ALPHA, err_msg=column)
    # a quantile's SE is half the gap between two order statistics: each within alpha, so within ~alpha |q|
    gap = np.abs(sketched["cost_p50_se"] - exact["cost_p50_se"])
    assert (gap <= 1.01 * ALPHA * exact["cost_p50"]).all()
    np.testing.assert_allclose(sketched["cost_cvar"], exact["cost_cvar"], rtol=3 * ALPHA)
    np.testing.assert_allclose(sketched["cost_cvar_se"], exact["cost_cvar_se"], rtol=0.01)
    if budget == 1.3e6:  # streamed counts: exact
        np.testing.assert_allclose(sketched["p_over_budget"], exact["p_over_budget"], rtol=1e-12)
        np.testing.assert_allclose(sketched["p_on_budget_and_time"], exact["p_on_budget_and_time"], rtol=1e-12)
    elif budget is not None:  # another budget: the sketch's buckets (within alpha of the budget) and the kept paths
        np.testing.assert_allclose(sketched["p_over_budget"], exact["p_over_budget"], atol=0.01)
        kept_paths = metrics.risk_metrics(PathOutcomes.from_dataset(streamed), **settings)
        np.testing.assert_allclose(sketched["p_on_budget_and_time"], kept_paths["p_on_budget_and_time"])
    else:
        assert sketched["p_over_budget"].isna().all() and exact["p_over_budget"].isna().all()


@pytest.mark.parametrize("objective", ["mean", "quantile", "cvar"])
def test_margin_and_recommendation_agree(runs, objective):
    full, streamed = runs
    decision = dataclasses.replace(DecisionConfig(), objective=objective, level=0.9, max_p_late=1.0)
    kept, sketched = outcomes_of(full), outcomes_of(streamed)
    exact, approx = recommend(kept, decision), recommend(sketched, decision)
    assert list(exact.ranking.index) == list(approx.ranking.index)
    a, b = 0, 1
    m_exact, se_exact = metrics.margin(kept, b, a, decision)
    m_sketch, se_sketch = metrics.margin(sketched, b, a, decision)
    if objective == "mean":  # exact streamed difference moments
        assert (m_sketch, se_sketch) == pytest.approx((m_exact, se_exact), rel=1e-9)
    else:  # each objective within its bound; the SE from the kept paths' influence values (plug-in)
        scale = 3 * ALPHA * sum(abs(metrics.objective(kept, k, decision)[0]) for k in (a, b))
        assert abs(m_sketch - m_exact) <= scale
        _, se_kept_paths = metrics.margin(sketched.path_level, b, a, decision)
        assert se_sketch == pytest.approx(se_kept_paths * np.sqrt(KEPT / N), rel=1e-9)
        assert se_sketch == pytest.approx(se_exact, rel=0.15)  # the plug-in SD is close to the full one
    # P(cheaper) counts ties one half on both paths: "tied" equals "steady" on a third of the paths
    for x, y in ((0, 2), (2, 0), (0, 1)):
        assert metrics.p_cheaper(sketched, x, y)[0] == pytest.approx(metrics.p_cheaper(kept, x, y)[0], abs=1e-12)
    assert metrics.p_cheaper(kept, 0, 2)[0] == pytest.approx(1 / 2 * 1 / 3 + 2 / 3, abs=0.02)


def test_engine_and_dataset_outcomes_are_the_same():
    out = _outputs()
    full, _ = _datasets(None, None)
    from_engine = PathOutcomes.from_engine(out, list(STRATEGIES), capex_index=0)
    from_dataset = PathOutcomes.from_dataset(full)
    for name in ("cost", "delay", "late", "capex"):
        np.testing.assert_array_equal(getattr(from_engine, name), getattr(from_dataset, name), err_msg=name)


def test_within_noise_follows_the_decision_confidence():
    """A margin of exactly 2 pathwise SEs: apart at 95% (z = 1.96), within noise at 97% (z = 2.17)."""
    rng = np.random.default_rng(1)
    noise = rng.normal(size=400)
    d = (noise - noise.mean()) / noise.std(ddof=1) + 0.1  # mean 0.1, sd 1: SE 0.05
    cost = np.vstack([np.full(400, 1e6), 1e6 + d])
    kept = PathOutcomes(("a", "b"), cost, np.zeros_like(cost), np.zeros(cost.shape, bool), np.zeros_like(cost))
    for confidence, within in ((0.8, False), (0.95, False), (0.97, True), (0.99, True)):
        rec = recommend(kept, dataclasses.replace(DecisionConfig(), confidence=confidence))
        assert rec.margin / rec.margin_se == pytest.approx(2.0)
        assert rec.within_noise is within, confidence
