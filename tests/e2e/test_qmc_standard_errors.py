"""engine.sampling=qmc: the reported (replicate) SEs against the spread of independent replications.

As ``tests/e2e/test_standard_errors.py`` does for independent paths: ``K`` replications (different seeds, so
independent scrambles) of an estimator; ``(K - 1) s^2 / sigma^2 ~ chi2(K - 1)`` for the spread ``s`` of the
estimates, so ``s / SE`` must lie in the two-sided ``1 - ALPHA`` chi-square interval, widened by ``BIAS`` (the
reported SE is the root mean square over the replications: its square is unbiased for the variance of a mean). The
synthetic checks feed the engine's own scrambled Sobol uniforms (:func:`simulator.engine.qmc.qmc_uniforms`) through
smooth and discontinuous functions; one check runs the engine itself.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from simulator.decision.metrics import margin
from simulator.decision.outcomes import PathOutcomes
from simulator.engine.host import build_inputs, run_paths
from simulator.engine.qmc import QmcDesign, qmc_uniforms
from simulator.stats.estimators import cvar_and_se, mean_and_se, quantile_and_se, se_of_mean
from simulator.stats.replicates import path_groups
from simulator.stats.samples import Sample

ALPHA = 1e-3
BIAS = 0.1  # the replicate SE has R - 1 degrees of freedom; nonlinear estimators add O(1/n) terms
SCRAMBLES, POINTS, REPS = 16, 64, 200


def ratio_bounds(reps: int, bias: float = BIAS) -> tuple[float, float]:
    lo = np.sqrt(stats.chi2.ppf(ALPHA / 2, reps - 1) / (reps - 1))
    hi = np.sqrt(stats.chi2.ppf(1 - ALPHA / 2, reps - 1) / (reps - 1))
    return lo * (1 - bias), hi * (1 + bias)


def assert_se_matches(estimates, ses, bias: float = BIAS) -> float:
    observed, reported = np.std(estimates, ddof=1), np.sqrt(np.mean(np.square(ses)))
    ratio = observed / reported
    lo, hi = ratio_bounds(len(estimates), bias)
    assert lo < ratio < hi, f"observed sd {observed:.4g} vs reported SE {reported:.4g}: ratio {ratio:.3f}"
    return ratio


@pytest.fixture(scope="module")
def replications():
    """``REPS`` replications of ``SCRAMBLES x POINTS`` scrambled Sobol points in 4 dimensions, (REPS, 4, n)."""
    design = QmcDesign.of(4, SCRAMBLES)
    ids = jnp.arange(SCRAMBLES * POINTS, dtype=jnp.uint32)
    draw = jax.jit(lambda key: qmc_uniforms(design, key, ids, jnp.float32))
    return np.stack([np.asarray(draw(jax.random.key(seed)), np.float64) for seed in range(REPS)])


GROUPS = path_groups(np.arange(SCRAMBLES * POINTS), SCRAMBLES)


def cost(u):
    """A smooth lognormal cost of four normal scores (weights falling off, as the priors' influence does)."""
    z = stats.norm.ppf(u)
    return np.exp(13.0 + 0.5 * z[0] + 0.3 * z[1] + 0.1 * z[2] + 0.05 * z[3])


def test_mean_se(replications):
    pairs = np.array([mean_and_se(Sample(cost(u), GROUPS)) for u in replications])
    ratio = assert_se_matches(pairs[:, 0], pairs[:, 1])
    iid = np.array([mean_and_se(cost(u))[1] for u in replications])
    assert np.sqrt(np.mean(pairs[:, 1] ** 2)) < 0.5 * np.sqrt(np.mean(iid**2)), ratio  # QMC helps a smooth mean


def test_probability_se(replications):
    """A discontinuous indicator (P(cost > its median-ish threshold)), the replicate SE of a 0/1 mean."""
    hits = [(cost(u) > 5e5).astype(float) for u in replications]
    pairs = np.array([(h.mean(), float(se_of_mean(h, groups=GROUPS))) for h in hits])
    assert_se_matches(pairs[:, 0], pairs[:, 1])


@pytest.mark.parametrize("estimator", ["quantile", "cvar"])
def test_tail_se(replications, estimator):
    """Quantile and CVaR95 SEs from the replicate spread of their influence values."""
    fn = (lambda x: quantile_and_se(x, 0.9)) if estimator == "quantile" else (lambda x: cvar_and_se(x, 0.95))
    pairs = np.array([fn(Sample(cost(u), GROUPS)) for u in replications])
    assert_se_matches(pairs[:, 0], pairs[:, 1], bias=0.2)  # influence linearisation at n_r = 64 per scramble


def test_margin_se(replications, hybrid):
    """The pathwise margin of two correlated costs (common draws), through the metrics' margin."""
    values = []
    for u in replications:
        a = cost(u)
        b = a * (1.0 + 0.2 * (u[1] - 0.5)) + 1e4 * (u[3] > 0.7)
        outcomes = PathOutcomes.from_cost(("a", "b"), np.stack([a, b]), GROUPS)
        values.append(margin(outcomes, 1, 0, hybrid.decision))
    values = np.array(values)
    assert_se_matches(values[:, 0], values[:, 1])


@pytest.mark.slow
def test_engine_mean_cost_se_by_replication(hybrid):
    """The engine's own qmc runs: ``K`` seeds of a one-month, two-strategy hybrid run, the spread of the mean cost
    against its replicate SE (a looser check: ``K`` is small, so the chi-square interval is wide)."""
    hybrid.engine.horizon_months = 1
    hybrid.engine.sampling = "qmc"
    hybrid.strategies = {name: hybrid.strategies[name] for name in ("neocloud", "hybrid")}
    inputs, grid = build_inputs(hybrid)
    paths, reps = 256, 24
    groups = path_groups(np.arange(paths), hybrid.engine.qmc_scrambles)
    pairs = []
    for seed in range(reps):
        outputs, _, _ = run_paths(inputs, grid, seed, paths, paths, 0)
        pairs.append(mean_and_se(Sample(outputs["cost"][:, 1], groups)))
    pairs = np.array(pairs)
    assert_se_matches(pairs[:, 0], pairs[:, 1], bias=0.15)
