"""Every reported standard error against the spread of its estimate over independent replications.

For ``R`` replications of an estimator with true standard deviation ``sigma``, the sample variance ``s^2`` of the
estimates satisfies ``(R - 1) s^2 / sigma^2 ~ chi2(R - 1)`` (estimates close to normal, as they are here at these path
counts). The test accepts when ``s / SE_reported`` lies in the two-sided ``1 - ALPHA`` chi-square interval, widened
by ``BIAS`` for what the asymptotic formulas leave out at finite ``n``; the reported SE is the root mean square over
the replications. Synthetic data with known distributions keep this fast; each test also checks the estimate
against its closed form, and a negative control shows that a wrong SE formula is rejected.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator.config.schema import DecisionConfig
from simulator.stats.compare import cheapest_feasible_probability, expected_regret, win_probability
from simulator.stats.estimators import (
    cvar_and_se,
    difference_and_se,
    mean_and_se,
    objective_value_and_se,
    probability_and_se,
    quantile_and_se,
    quantile_ci,
)

ALPHA = 1e-3  # false-alarm rate of one check
BIAS = 0.05  # finite-n slack of asymptotic SE formulas (relative)
REPS = 300
N = 2000
MU, SIGMA = np.log(1e6), 0.5  # lognormal costs around $1M


def ratio_bounds(reps: int, bias: float = BIAS) -> tuple[float, float]:
    """Acceptance interval of ``observed sd / reported SE`` from the chi-square law of a sample variance."""
    lo = np.sqrt(stats.chi2.ppf(ALPHA / 2, reps - 1) / (reps - 1))
    hi = np.sqrt(stats.chi2.ppf(1 - ALPHA / 2, reps - 1) / (reps - 1))
    return lo * (1 - bias), hi * (1 + bias)


def replicate(estimator, sampler, reps: int = REPS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pairs = np.array([estimator(sampler(rng)) for _ in range(reps)], float)
    return pairs[:, 0], pairs[:, 1]


def assert_se_matches(estimates: np.ndarray, ses: np.ndarray, bias: float = BIAS) -> float:
    observed, reported = np.std(estimates, ddof=1), np.sqrt(np.mean(ses**2))
    ratio = observed / reported
    lo, hi = ratio_bounds(len(estimates), bias)
    assert lo < ratio < hi, f"observed sd {observed:.4g} vs reported SE {reported:.4g}: ratio {ratio:.3f}"
    return ratio


def lognormal(rng, n=N):
    return rng.lognormal(MU, SIGMA, n)


def test_mean_se_by_replication():
    est, se = replicate(mean_and_se, lognormal)
    assert_se_matches(est, se)
    truth = np.exp(MU + SIGMA**2 / 2)
    assert abs(est.mean() - truth) < 4 * np.sqrt(np.mean(se**2) / REPS)


@pytest.mark.parametrize("p", [0.05, 0.5, 0.95])
def test_quantile_se_by_replication(p):
    est, se = replicate(lambda x: quantile_and_se(x, p), lognormal)
    assert_se_matches(
        est, se, bias=0.08
    )  # order-statistic SE is a +-1 sigma rank interval: O(1/sqrt(n)) slack
    truth = np.exp(MU + SIGMA * stats.norm.ppf(p))
    assert abs(est.mean() - truth) < 4 * np.sqrt(np.mean(se**2) / REPS) + 1e-3 * truth


@pytest.mark.parametrize("p", [0.05, 0.5, 0.95])
def test_quantile_confidence_interval_covers(p):
    """Distribution-free order-statistic CI: coverage at least the nominal level, and not absurdly wide."""
    truth = np.exp(MU + SIGMA * stats.norm.ppf(p))
    rng = np.random.default_rng(1)
    hits = []
    for _ in range(REPS):
        lo, hi = quantile_ci(lognormal(rng, 500), p, 0.9)
        hits.append(lo <= truth <= hi)
    coverage = np.mean(hits)
    slack = stats.norm.ppf(1 - ALPHA) * np.sqrt(0.9 * 0.1 / REPS)
    assert 0.9 - slack < coverage < 0.97 + slack


def test_cvar_se_by_replication():
    level = 0.95
    est, se = replicate(lambda x: cvar_and_se(x, level), lambda rng: lognormal(rng, 4000))
    assert_se_matches(est, se, bias=0.10)
    z = stats.norm.ppf(level)  # closed form: E[X | X > q] = e^{mu + s^2/2} Phi(s - z) / (1 - level)
    truth = np.exp(MU + SIGMA**2 / 2) * stats.norm.cdf(SIGMA - z) / (1 - level)
    assert abs(est.mean() - truth) < 4 * np.sqrt(np.mean(se**2) / REPS) + 0.01 * truth


def test_probability_se_by_replication():
    est, se = replicate(lambda x: probability_and_se(x > 1.2e6), lognormal)
    assert_se_matches(est, se)


def correlated_pair(rng, n=N, shift=0.03):
    """Two strategies on common random numbers: a shared lognormal factor and small idiosyncratic noise."""
    common = rng.normal(size=n)
    a = np.exp(MU + SIGMA * common + 0.05 * rng.normal(size=n))
    b = np.exp(MU + shift + SIGMA * common + 0.05 * rng.normal(size=n))
    return a, b


@pytest.mark.parametrize("objective", ["mean", "quantile", "cvar"])
def test_paired_margin_se_by_replication(objective):
    decision = DecisionConfig(objective=objective, level=0.9)
    est, se = replicate(lambda ab: difference_and_se(ab[1], ab[0], decision.objective, decision.level), correlated_pair)
    assert_se_matches(est, se, bias=0.10)
    # the pathwise SE is far below the SE of the difference of two independent estimates (negative control)
    rng = np.random.default_rng(5)
    a, b = correlated_pair(rng)
    independent = np.hypot(
        objective_value_and_se(a, objective, 0.9)[1], objective_value_and_se(b, objective, 0.9)[1]
    )
    assert np.sqrt(np.mean(se**2)) < 0.5 * independent
    lo, hi = ratio_bounds(REPS)
    assert not lo < np.std(est, ddof=1) / independent < hi  # the wrong (unpaired) SE would fail this test


def test_win_probability_se_by_replication():
    def estimator(ab):
        p, se = win_probability(np.vstack(ab))
        return p[0, 1], se[0, 1]

    est, se = replicate(estimator, correlated_pair)
    assert_se_matches(est, se)
    # closed form: P(a < b) = P(0.05 (e_a - e_b) < 0.03) = Phi(0.03 / (0.05 sqrt 2))
    truth = stats.norm.cdf(0.03 / (0.05 * np.sqrt(2)))
    assert abs(est.mean() - truth) < 4 * np.sqrt(np.mean(se**2) / REPS)


def three_strategies(rng, n=N):
    a, b = correlated_pair(rng, n)
    c = np.exp(MU + 0.02 + SIGMA * rng.normal(size=n))  # independent of the others
    return np.vstack([a, b, c])


def test_cheapest_feasible_se_by_replication():
    def estimator(cost):
        p, se, _ = cheapest_feasible_probability(cost)
        return p[2], se[2]

    est, se = replicate(estimator, three_strategies)
    assert_se_matches(est, se)


def test_expected_regret_se_by_replication():
    def estimator(cost):
        mean, se = expected_regret(cost)
        return mean[1], se[1]

    est, se = replicate(estimator, three_strategies)
    assert_se_matches(est, se, bias=0.08)


def test_first_order_index_se_by_replication():
    """SALib's RBD-FAST bootstrap interval, rescaled to an SE at n paths, against replications."""
    from simulator.decision.sensitivity import first_order_indices

    def estimator(rng):
        x = rng.normal(size=(1000, 3))
        y = 2 * x[:, 0] + x[:, 1] + rng.normal(size=1000)
        frame = first_order_indices(dict(a=x[:, 0], b=x[:, 1], c=x[:, 2]), y, resamples=50, seed=7)
        return frame.loc[["a", "b", "c"]].to_numpy()

    rng = np.random.default_rng(3)
    reps = 40
    results = np.array([estimator(rng) for _ in range(reps)])  # (reps, 3 priors, [S1, S1_se])
    for k, truth in enumerate([4 / 6, 1 / 6]):
        assert_se_matches(results[:, k, 0], results[:, k, 1], bias=0.15)
        assert abs(results[:, k, 0].mean() - truth) < 0.03  # RBD-FAST is slightly biased low at M=10
    # a parameter with no effect: index near zero and its SE conservative (never too small)
    assert abs(results[:, 2, 0].mean()) < 0.01
    assert np.std(results[:, 2, 0], ddof=1) < ratio_bounds(reps)[1] * np.sqrt(np.mean(results[:, 2, 1] ** 2))


@pytest.mark.slow
def test_engine_standard_errors_over_seeds():
    """The engine itself: independent seeds of the hybrid scenario (6 months, 128 paths each); the spread of each
    estimate over seeds against the SE each run reports (mean, CVaR, P(late), and the pathwise top-two margin)."""
    from simulator.config.load import load_config
    from simulator.engine.host import build_inputs, run_paths

    cfg = load_config(["scenario=hybrid", "engine.horizon_months=6", "engine.chunk_size=64"])
    inputs, grid = build_inputs(cfg)
    names = list(cfg.strategies)
    hybrid, spot = names.index("hybrid"), names.index("spot")
    decision = DecisionConfig(objective="mean")
    rows = []
    for seed in range(30):
        out, _, _ = run_paths(inputs, grid, 1000 + seed, 128, 64, 0)
        cost = out["cost"][:, hybrid]
        late = (out["run_lateness_days"][:, hybrid] > 0).any(axis=-1)
        rows.append(
            [
                *mean_and_se(cost),
                *cvar_and_se(cost, 0.8),
                *probability_and_se(late),
                *difference_and_se(out["cost"][:, spot], cost, decision.objective, decision.level),
            ]
        )
    rows = np.array(rows)
    for k, bias in ((0, 0.1), (2, 0.2), (4, 0.1), (6, 0.1)):  # CVaR at 128 paths: larger finite-n slack
        assert_se_matches(rows[:, k], rows[:, k + 1], bias=bias)
