"""Spend, shortfall, delivered GPU-hours and the cost per delivered GPU-hour: the ratio estimator and its delta-method
SE against direct computations and a replication study, streamed moments against kept paths, and old results."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from simulator.decision.metrics import risk_metrics, service_metrics
from simulator.decision.outcomes import PathOutcomes, StreamedOutcomes
from simulator.stats.accumulators import CoMoments
from simulator.stats.collector import RunStatistics
from simulator.stats.estimators import ratio_and_se

N, KEPT = 5000, 1200
STRATEGIES = ("owned", "rented")
CATEGORIES = ("capex", "usage", "delay")
SERVICE_COLUMNS = ("spend_mean", "spend_mean_se", "shortfall_mean", "shortfall_mean_se", "delivered_gpu_hours_mean",
                   "delivered_gpu_hours_mean_se", "usd_per_gpu_hour", "usd_per_gpu_hour_se")


def _paired(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Delivered GPU-hours (lognormal) and spend correlated with them: ``spend = 2.5 d + 4e4 + noise``."""
    delivered = rng.lognormal(11.0, 0.3, shape)
    spend = 2.5 * delivered + 4e4 + rng.normal(0.0, 3e4, shape)
    return spend, delivered


def test_comoments_merge_exactly_in_any_grouping():
    rng = np.random.default_rng(1)
    x, y = _paired(rng, (10_001, 3))
    for pieces in (1, 4, 29):
        merged = CoMoments.empty((3,))
        for part in np.array_split(np.arange(len(x)), pieces):
            merged = merged.merge(CoMoments.of(x[part], y[part]))
        expected = [np.cov(x[:, j], y[:, j], ddof=1)[0, 1] for j in range(3)]
        np.testing.assert_allclose(merged.covariance, expected, rtol=1e-11)
        np.testing.assert_allclose(merged.mean_x, x.mean(axis=0), rtol=1e-12)
        assert merged.count == len(x)


def test_ratio_estimator_matches_the_direct_computation():
    rng = np.random.default_rng(2)
    spend, delivered = _paired(rng, (4000,))
    cov = np.cov(spend, delivered, ddof=1)
    ratio, se = ratio_and_se(spend.mean(), delivered.mean(), cov[0, 0], cov[1, 1], cov[0, 1], spend.size)
    assert ratio == pytest.approx(spend.mean() / delivered.mean(), rel=1e-12)
    residual = spend - ratio * delivered
    assert se == pytest.approx(np.sqrt(np.var(residual, ddof=1) / spend.size) / delivered.mean(), rel=1e-9)
    assert ratio != pytest.approx(np.mean(spend / delivered), rel=1e-4)  # a ratio of means, not a mean of ratios
    assert np.isnan(ratio_and_se(1.0, 0.0, 1.0, 1.0, 0.0, 10)).all()  # nothing delivered: no price per GPU-hour


def test_ratio_se_matches_the_spread_over_replications():
    """The delta-method SE against the standard deviation of the estimator over 4,000 independent replications of
    400 paths; the SD of an SD from M replications is about SD / sqrt(2M) = 1.1%, the delta method's bias O(1/n)."""
    rng = np.random.default_rng(3)
    spend, delivered = _paired(rng, (4000, 400))
    ratios = spend.mean(axis=1) / delivered.mean(axis=1)
    ses = []
    for s, d in zip(spend[:200], delivered[:200], strict=True):
        cov = np.cov(s, d, ddof=1)
        ses.append(ratio_and_se(s.mean(), d.mean(), cov[0, 0], cov[1, 1], cov[0, 1], s.size)[1])
    spread = ratios.std(ddof=1)
    tolerance = 4 * spread / np.sqrt(2 * len(ratios)) + 4 * np.std(ses, ddof=1) / np.sqrt(len(ses))
    assert abs(np.mean(ses) - spread) < tolerance


def _outputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Engine-like outputs ``(path, strategy, ...)`` with spend, a shortfall, delivered GPU-hours and cost = sum."""
    rng = np.random.default_rng(seed)
    spend, delivered = _paired(rng, (N, 2))
    shortfall = np.where(rng.random((N, 2)) < 0.3, rng.exponential(5e4, (N, 2)), 0.0)
    capex = np.column_stack([np.full(N, 1e5), np.zeros(N)])
    by_category = np.stack([capex, spend - capex, shortfall], axis=-1)
    return dict(cost=spend + shortfall, spend=spend, shortfall=shortfall, delivered_gpu_hours=delivered,
                delay=rng.exponential(1.0, (N, 2)), cost_by_category=by_category, cash_by_category=by_category,
                run_lateness_days=rng.normal(-5.0, 3.0, (N, 2, 1)))


def _statistics(out: dict[str, np.ndarray], pieces: int = 5) -> RunStatistics:
    stats = RunStatistics(2, 1, len(CATEGORIES), capex_column=0, budget_usd=None, capex_budget_usd=None,
                          relative_accuracy=1e-3)
    for part in np.array_split(np.arange(len(out["cost"])), pieces):
        stats.add({name: values[part] for name, values in out.items()})
    return stats


def _dataset(out: dict[str, np.ndarray], paths: int, service: bool = True) -> xr.Dataset:
    names = ("cost", "delay", *(("spend", "shortfall", "delivered_gpu_hours") if service else ()))
    data = {name: (("strategy", "path"), out[name][:paths].T) for name in names}
    data["cash_by_category"] = (("strategy", "path", "category"), out["cash_by_category"][:paths].swapaxes(0, 1))
    data["run_lateness_days"] = (("strategy", "path", "run"), out["run_lateness_days"][:paths].swapaxes(0, 1))
    return xr.Dataset(data, coords={"strategy": list(STRATEGIES), "category": list(CATEGORIES)},
                      attrs={"paths": paths})


def test_streamed_service_moments_match_the_kept_paths():
    out = _outputs()
    data_vars, coords = _statistics(out).data_vars()
    streamed = _dataset(out, KEPT).assign(data_vars).assign_coords(versus=list(STRATEGIES), **coords)
    streamed.attrs["paths"] = N
    kept = risk_metrics(PathOutcomes.from_dataset(_dataset(out, N)))
    sketched = risk_metrics(StreamedOutcomes(streamed))
    assert list(sketched.columns) == list(kept.columns)
    for column in SERVICE_COLUMNS:
        np.testing.assert_allclose(sketched[column], kept[column], rtol=1e-9, err_msg=column)
    np.testing.assert_allclose(kept["spend_mean"] + kept["shortfall_mean"], kept["cost_mean"], rtol=1e-12)
    np.testing.assert_allclose(kept["usd_per_gpu_hour"], out["spend"].mean(0) / out["delivered_gpu_hours"].mean(0),
                               rtol=1e-12)


def test_a_chunk_without_the_service_outputs_after_one_with_them_is_refused():
    out = _outputs()
    stats = _statistics({k: v[:100] for k, v in out.items()}, pieces=1)
    with pytest.raises(ValueError, match="SERVICE_INPUTS"):
        stats.add({k: v[100:200] for k, v in out.items() if k not in ("spend",)})


def test_old_results_read_all_cost_as_spend():
    """A run written before the shortfall was priced: spend = cost, shortfall 0, no cost per GPU-hour (kept and
    streamed alike)."""
    out = _outputs()
    old = {k: v for k, v in out.items() if k not in ("spend", "shortfall", "delivered_gpu_hours")}
    data_vars, coords = _statistics(old).data_vars()
    assert not any(name.startswith("stream_spend") for name in data_vars)
    streamed = _dataset(out, KEPT, service=False).assign(data_vars).assign_coords(versus=list(STRATEGIES), **coords)
    streamed.attrs["paths"] = N
    for outcomes in (PathOutcomes.from_dataset(_dataset(out, N, service=False)), StreamedOutcomes(streamed)):
        row = service_metrics(outcomes, 0)
        assert row["spend_mean"] == pytest.approx(out["cost"][:, 0].mean(), rel=1e-12)
        assert row["shortfall_mean"] == 0.0
        assert np.isnan(row["usd_per_gpu_hour"]) and np.isnan(row["usd_per_gpu_hour_se"])
