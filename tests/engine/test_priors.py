"""Each prior family's inverse CDF against scipy.stats, and per-path draws against the distribution."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from simulator.config.schema import PriorSpec
from simulator.engine.priors import prior_from_spec

CASES = [
    (PriorSpec(dist="uniform", low=2.0, high=5.0), stats.uniform(2.0, 3.0)),
    (PriorSpec(dist="normal", mean=-0.15, sd=0.1), stats.norm(-0.15, 0.1)),
    (
        PriorSpec(dist="lognormal", median=5.4, p90=7.0),
        stats.lognorm(np.log(7.0 / 5.4) / stats.norm.ppf(0.9), scale=5.4),
    ),
    (PriorSpec(dist="beta", mean=0.6, sd=0.1), stats.beta(0.6 * 23.0, 0.4 * 23.0)),
]


@pytest.mark.parametrize("spec, reference", CASES, ids=[c[0].dist for c in CASES])
def test_ppf_matches_scipy(spec, reference):
    u = np.linspace(0.001, 0.999, 101)
    ours = np.asarray(prior_from_spec(spec, {}).ppf(jnp.asarray(u, jnp.float32)), float)
    np.testing.assert_allclose(ours, reference.ppf(u), rtol=2e-4, atol=2e-5)


def test_lognormal_p90_is_p90():
    prior = prior_from_spec(PriorSpec(dist="lognormal", median=1.0, p90=3.0), {})
    assert float(prior.ppf(jnp.float32(0.9))) == pytest.approx(3.0, rel=1e-5)


def test_fixed_and_clip():
    assert float(prior_from_spec(PriorSpec(dist="fixed", value=2.5), {}).ppf(jnp.float32(0.3))) == 2.5
    clipped = prior_from_spec(PriorSpec(dist="normal", mean=1.0, sd=1.0), {"ge": 0.0})
    assert float(clipped.ppf(jnp.float32(1e-6))) == 0.0
