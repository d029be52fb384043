"""engine.sampling=qmc: the Sobol generator against scipy, uniform scrambles, chunk-size invariance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import error_for
from scipy.stats import qmc

from simulator.engine.host import build_inputs, run_paths
from simulator.engine.priors import design_names, prior_table
from simulator.engine.qmc import QmcDesign, qmc_uniforms, sobol_bits, sobol_directions


@pytest.mark.parametrize("dimensions", [1, 7, 90])
def test_sobol_points_equal_scipy(dimensions):
    """Unscrambled (one scramble, zero shift), point k is scipy's k-th point times 2^32, for the first 2^10."""
    n = 1024
    directions = jnp.asarray(sobol_directions(dimensions))[None]
    x = sobol_bits(directions, jnp.zeros((1, dimensions), jnp.uint32), jnp.zeros(n, jnp.uint32),
                   jnp.arange(n, dtype=jnp.uint32))
    expected = qmc.Sobol(dimensions, scramble=False, bits=32).random(n) * 2.0**32
    np.testing.assert_array_equal(np.asarray(x).T.astype(np.float64), expected)


def _uniforms(scrambles=16, points=1024, dimensions=6, seed=5):
    design = QmcDesign.of(dimensions, scrambles)
    ids = jnp.arange(scrambles * points, dtype=jnp.uint32)
    return np.asarray(qmc_uniforms(design, jax.random.key(seed), ids, jnp.float32), np.float64)


def test_scrambles_are_uniform():
    """Every scramble's points are uniform: mean 1/2 and variance 1/12 per dimension within the Monte Carlo error
    (|z| < 4), and each one-dimensional projection of 2^10 points of a scramble has one point per 1/1024 interval
    (a scrambled net keeps its stratification); every u lies strictly in (0, 1)."""
    r, n, d = 16, 1024, 6
    u = _uniforms(r, n, d)  # (d, r * n); path i is point i // r of scramble i % r
    assert (u > 0).all() and (u < 1).all()
    per_scramble = u.reshape(d, n, r)
    for j in range(d):
        for s in range(r):
            assert len(np.unique(np.floor(per_scramble[j, :, s] * n))) == n
    # over the scrambles (independent), each scramble's mean is an unbiased estimate of 1/2 with MC SE at most
    # sqrt(1/12 / n); the mean of 1/2 - u is pinned far more tightly by the stratification, so this is conservative
    means = per_scramble.mean(axis=1)  # (d, r)
    assert np.all(np.abs(means - 0.5) < 4 * np.sqrt(1 / 12 / n))
    # variance: var(u) = 1/12 with the MC SE of a sample variance, sqrt((1/80 - 1/144) / n) for a uniform
    variances = per_scramble.var(axis=1)
    assert np.all(np.abs(variances - 1 / 12) < 4 * np.sqrt((1 / 80 - 1 / 144) / n))


def test_scrambles_differ_by_seed_and_replicate():
    a, b = _uniforms(seed=5), _uniforms(seed=6)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[:, 0::16], a[:, 1::16])  # scramble 0 and 1 of the same seed


def test_uniforms_do_not_depend_on_the_chunk():
    design = QmcDesign.of(4, 16)
    key = jax.random.key(1)
    whole = np.asarray(qmc_uniforms(design, key, jnp.arange(300, dtype=jnp.uint32), jnp.float32))
    parts = [np.asarray(qmc_uniforms(design, key, jnp.arange(a, b, dtype=jnp.uint32), jnp.float32))
             for a, b in ((0, 7), (7, 128), (128, 300))]
    np.testing.assert_array_equal(whole, np.concatenate(parts, axis=1))


@pytest.fixture
def tiny_qmc(hybrid):
    hybrid.engine.horizon_months = 1
    hybrid.engine.sampling = "qmc"
    hybrid.strategies = {name: hybrid.strategies[name] for name in ("neocloud", "hybrid")}
    return hybrid


def test_engine_results_do_not_depend_on_chunk_size(tiny_qmc):
    inputs, grid = build_inputs(tiny_qmc)
    reference, ref_params, _ = run_paths(inputs, grid, seed=3, paths=200, chunk_size=256)
    chunked, params, _ = run_paths(inputs, grid, seed=3, paths=200, chunk_size=64)
    for name, values in reference.items():
        np.testing.assert_array_equal(values, chunked[name], err_msg=name)
    for name, values in ref_params.items():
        np.testing.assert_array_equal(values, params[name], err_msg=name)
    # the draws are the scrambled Sobol points: a non-fixed prior's 16 points of scramble 0 fill 16 strata
    name = design_names(prior_table(tiny_qmc))[0]
    spec_draws = params[name][0:256:16]
    assert len(np.unique(spec_draws)) == len(spec_draws)


@pytest.mark.parametrize("override, message", [
    ("engine.sampling=lhs", "engine.sampling = 'lhs': must be one of mc, qmc"),
    ("engine.qmc_scrambles=1", "engine.qmc_scrambles = 1"),
])
def test_bad_sampling_is_a_one_line_error(override, message):
    assert message in error_for(["scenario=hybrid", override])
