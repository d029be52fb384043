"""The additive natural cubic spline fit: exact on what it spans, weights are counts, linear beyond the knots."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.stats.splines import additive_basis, bootstrap_weights, fit, natural_cubic_basis


def test_linear_and_additive_responses_are_fitted_exactly():
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=500), rng.lognormal(size=500)
    y = np.stack([3 * x - 2, 1.5 * x + 0.5 * z])
    np.testing.assert_allclose(fit(additive_basis([x, z]), y)[0], y, atol=1e-6)


def test_weights_are_counts_of_repeated_paths():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=200)
    y = np.sin(6 * x) + rng.normal(0, 0.1, 200)
    w = bootstrap_weights(200, 1, seed=2)[0]
    assert w.sum() == 200
    repeated = np.repeat(np.arange(200), w.astype(int))
    design = additive_basis([x])  # the same basis functions for both fits
    weighted = fit(design, y[None], w[None])[0, 0]
    np.testing.assert_allclose(weighted[repeated], fit(design[repeated], y[repeated][None])[0, 0], atol=1e-5)


def test_basis_is_cubic_inside_and_linear_outside_the_knots():
    x = np.linspace(-3, 3, 601)
    basis = natural_cubic_basis(np.concatenate([x, np.linspace(-1, 1, 10_000)]))[: x.size]
    outer = x > 2.5  # beyond the largest knot (the 99% quantile of the mixture, near 1.95)
    second = np.diff(basis[outer], n=2, axis=0)
    np.testing.assert_allclose(second, 0.0, atol=1e-9)
    assert basis.shape[1] == 6


def test_wide_designs_are_fitted_row_by_row_the_same():
    rng = np.random.default_rng(3)
    columns = [rng.normal(size=3000) for _ in range(12)]
    y = (columns[0] ** 2 + rng.normal(size=3000))[None]
    design = additive_basis(columns)
    w = bootstrap_weights(3000, 2, seed=0)
    assert 3000 * design.shape[1] ** 2 > 2**22  # the row-by-row branch
    batched = np.stack([fit(design, y, wi[None])[0] for wi in w])
    np.testing.assert_allclose(fit(design, y, w), batched, rtol=1e-9, atol=1e-9)
    assert fit(design, y)[0, 0] == pytest.approx(fit(design, y, np.ones((1, 3000)))[0, 0])
