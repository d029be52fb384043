"""Priors as data: distribution specs turned into a pytree, and their inverse CDFs in JAX.

Every path draws each uncertain parameter once, from one uniform mapped through the inverse CDF (so Latin hypercube or
Sobol designs are a change of the uniforms only: ``engine.sampling=qmc``, :mod:`simulator.engine.qmc`). The uniform of parameter ``name`` on path ``i`` comes from the key
``stream_keys(root, PARAMETER_STREAM, i)`` folded with ``stable_id(name)`` (:mod:`simulator.engine._keys`): adding a prior never changes the
draws of the others, and a path's draws do not depend on the chunk it runs in.

The distribution family is static (part of the tree structure); its parameters are array leaves, so changing a prior's
value never recompiles the engine.

Rank-correlated priors (the config's ``correlations``) go through a Gaussian copula (:class:`Copula`): their normal
scores ``z`` are mixed by the Cholesky factor ``L`` of the Pearson matrix ``r_ij = 2 sin(pi rho_ij / 6)`` before the
inverse CDFs; ``L`` is an array leaf (new ranks never recompile), the set of correlated priors is static.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr, ndtri
from scipy import stats

from simulator.config.correlations import correlation_matrix, flat_priors
from simulator.config.schema import Config, PriorSpec
from simulator.engine._keys import stable_id, uniforms

Z90 = 1.2815515655446004  # standard normal 90th percentile: lognormal sigma = ln(p90 / median) / Z90
TABLE_Z = 8.0  # tabulated inverse CDFs cover normal scores in [-8, 8] ...
TABLE_POINTS = 2049  # ... on a uniform grid (step 0.0078): linear interpolation error < 1e-5 relative


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Prior:
    """A distribution in engine form: ``a`` and ``b`` are its two parameters, ``low``/``high`` its clip range.

    fixed: a = value; uniform: a = low, b = high; normal: a = mean, b = sd; lognormal: a = ln(median),
    b = ln(p90 / median) / z90; beta: a = alpha, b = beta (from mean m and sd s: nu = m(1-m)/s^2 - 1,
    alpha = m nu, beta = (1-m) nu), and ``table`` holds its inverse CDF at ``u = Phi(z)`` on a uniform grid of
    normal scores ``z`` (computed on the host by scipy; interpolated on device). A tabulated inverse CDF costs the
    same for every path; an iterative one (``betainc`` bisection) runs its loops until the slowest path of a batch
    converges, which makes results depend on the batch.
    """

    a: jax.Array
    b: jax.Array
    low: jax.Array
    high: jax.Array
    table: jax.Array
    dist: str = dataclasses.field(metadata=dict(static=True))

    def ppf(self, u: jax.Array) -> jax.Array:
        """Inverse CDF at ``u`` in (0, 1), clipped to ``[low, high]``."""
        return self.ppf_at(u, ndtri(u))

    def ppf_at(self, u: jax.Array, z: jax.Array) -> jax.Array:
        """Inverse CDF at ``u``, given its normal score ``z = Phi^{-1}(u)``; clipped to ``[low, high]``.

        The one inverse CDF of the engine: :meth:`ppf` and the batched draw of :func:`sample_parameters` (which
        computes ``z`` for every prior in one call) both use it, so their draws agree to the bit. Families that do
        not need ``z`` ignore it.
        """
        if self.dist == "fixed":
            x = jnp.broadcast_to(self.a, u.shape).astype(u.dtype)
        elif self.dist == "uniform":
            x = self.a + (self.b - self.a) * u
        elif self.dist == "normal":
            x = self.a + self.b * z
        elif self.dist == "lognormal":
            x = jnp.exp(self.a + self.b * z)
        else:
            x = _interpolate_table(self.table, z)
        return jnp.clip(x, self.low, self.high)


def _interpolate_table(table: jax.Array, z: jax.Array) -> jax.Array:
    """Linear interpolation of ``table`` (values at ``z_k = -8 + 16 k / (K - 1)``) at normal scores ``z``."""
    position = (jnp.clip(z, -TABLE_Z, TABLE_Z) + TABLE_Z) * ((TABLE_POINTS - 1) / (2.0 * TABLE_Z))
    k = jnp.clip(jnp.floor(position), 0, TABLE_POINTS - 2).astype(jnp.int32)
    weight = position - k
    return table[k] * (1.0 - weight) + table[k + 1] * weight


def _beta_table(alpha: float, beta: float) -> np.ndarray:
    z = np.linspace(-TABLE_Z, TABLE_Z, TABLE_POINTS)
    return stats.beta.ppf(stats.norm.cdf(z), alpha, beta)


def prior_from_spec(spec: PriorSpec, domain: dict[str, Any]) -> Prior:
    """Engine form of a validated ``PriorSpec``; ``domain`` (schema metadata) gives the clip range."""
    low = max(domain.get("ge", -math.inf), domain.get("gt", -math.inf))
    high = min(domain.get("le", math.inf), domain.get("lt", math.inf))
    if spec.dist == "fixed":
        a, b = spec.value, 0.0
    elif spec.dist == "uniform":
        a, b = spec.low, spec.high
    elif spec.dist == "normal":
        a, b = spec.mean, spec.sd
    elif spec.dist == "lognormal":
        a, b = math.log(spec.median), math.log(spec.p90 / spec.median) / Z90
    else:
        nu = spec.mean * (1.0 - spec.mean) / spec.sd**2 - 1.0
        a, b = spec.mean * nu, (1.0 - spec.mean) * nu
    table = _beta_table(a, b) if spec.dist == "beta" else np.zeros(0)
    return Prior(*(jnp.asarray(v, jnp.float32) for v in (a, b, low, high, table)), dist=spec.dist)


def prior_table(cfg: Config) -> dict[str, Prior]:
    """Every prior of the config, by dotted name (``market.drift_per_year``, ``runs.NAME.gpu_hours``,
    ``runs.NAME.late_usd_per_day``, ``providers.NAME.FIELD``), in the order of :func:`simulator.config.correlations.flat_priors`."""
    return {name: prior_from_spec(spec, domain) for name, (spec, domain) in flat_priors(cfg).items()}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Copula:
    """A Gaussian copula over some priors: ``names`` (static) and the lower Cholesky factor ``cholesky`` (C, C) of the
    Pearson matrix of their normal scores, ``R = L L^T`` with ``R_ij = 2 sin(pi rho_ij / 6)`` for the declared rank
    correlations ``rho_ij`` (0 for undeclared pairs)."""

    cholesky: jax.Array
    names: tuple[str, ...] = dataclasses.field(metadata=dict(static=True))

    def mix(self, z: jax.Array) -> jax.Array:
        """Correlated normal scores ``z'_i = sum_{j<=i} L_ij z_j`` of independent scores ``z`` (C, N).

        Written as a sum over ``j`` in a fixed order (not a matrix product), so each path's result depends on its
        own column only: no backend-chosen summation order (or TF32) that could vary with the chunk size.
        """
        rows = []
        for i in range(len(self.names)):
            total = self.cholesky[i, 0] * z[0]
            for j in range(1, i + 1):
                total = total + self.cholesky[i, j] * z[j]
            rows.append(total)
        return jnp.stack(rows)


def copula_of(cfg: Config, dtype: Any) -> Copula | None:
    """The config's copula (Cholesky factor computed in float64 on the host, then cast), None without correlations."""
    names, matrix = correlation_matrix(cfg)
    if not names:
        return None
    return Copula(jnp.asarray(np.linalg.cholesky(matrix), dtype), names=names)


def cast_table(table: dict[str, Prior], dtype: Any) -> dict[str, Prior]:
    """The same table with every array leaf in ``dtype``."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), table)


def design_names(table: dict[str, Prior]) -> tuple[str, ...]:
    """The priors that get a quasi-Monte Carlo dimension (every non-fixed one, in table order)."""
    return tuple(name for name, prior in table.items() if prior.dist != "fixed")


def sample_parameters(
    table: dict[str, Prior], parameter_keys: jax.Array, dtype, copula: Copula | None = None,
    design_uniforms: jax.Array | None = None,
) -> dict[str, jax.Array]:
    """Every path's parameters, (N,) each: ``theta_name = F_name^{-1}(U)``, ``U`` from ``fold_in(path_key,
    stable_id(name))``.

    All priors are drawn in one vectorised call and one ``ndtri`` over (K, N) (one program instead of K, which
    compiles faster); each value is :meth:`Prior.ppf_at` of its uniform and normal score.

    With a ``copula``, the scores of its priors are replaced by ``z' = L z`` (:meth:`Copula.mix`) and their uniforms
    by ``u' = Phi(z')``: each marginal is unchanged (``z'_i`` is standard normal since ``sum_j L_ij^2 = R_ii = 1``) and
    the ranks of priors ``i, j`` correlate by ``(6 / pi) arcsin(R_ij / 2) = rho_ij``. Without one (None, static) the
    draws are exactly those of independent priors.

    ``design_uniforms`` (D, N), with ``engine.sampling=qmc`` (:func:`simulator.engine.qmc.qmc_uniforms`), replace the
    pseudo-random uniforms of the :func:`design_names` priors (row ``d`` the ``d``-th of them); a fixed prior ignores
    its uniform (1/2). The transforms after the uniforms (inverse CDFs, copula) are the same.
    """
    names = list(table)
    if design_uniforms is None:
        ids = jnp.asarray([stable_id(name) for name in names], jnp.uint32)
        draw = lambda key: jax.vmap(lambda i: uniforms(jax.random.fold_in(key, i), (), dtype))(ids)  # noqa: E731
        u = jax.vmap(draw, out_axes=1)(parameter_keys)  # (K, N)
    else:
        rows = {name: d for d, name in enumerate(design_names(table))}
        half = jnp.full(design_uniforms.shape[1:], 0.5, dtype)
        u = jnp.stack([design_uniforms[rows[name]].astype(dtype) if name in rows else half for name in names])
    z = ndtri(u)
    if copula is not None:
        rows = jnp.asarray([names.index(name) for name in copula.names])
        mixed = copula.mix(z[rows]).astype(z.dtype)
        u, z = u.at[rows].set(ndtr(mixed)), z.at[rows].set(mixed)
    return {name: table[name].ppf_at(u[j], z[j]).astype(dtype) for j, name in enumerate(names)}
