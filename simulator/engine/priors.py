"""Priors as data: distribution specs turned into a pytree, and their inverse CDFs in JAX.

Every path draws each uncertain parameter once, from one uniform mapped through the inverse CDF (so Latin hypercube or
Sobol designs are a change of the uniforms only). The uniform of parameter ``name`` on path ``i`` comes from the key
``stream_keys(root, PARAMETER_STREAM, i)`` folded with ``stable_id(name)`` (:mod:`simulator.engine._keys`): adding a prior never changes the
draws of the others, and a path's draws do not depend on the chunk it runs in.

The distribution family is static (part of the tree structure); its parameters are array leaves, so changing a prior's
value never recompiles the engine.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri
from scipy import stats

from simulator.config.schema import PROVIDER_PRIORS, RUN_PRIORS, Config, PriorSpec, ProviderConfig
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
    ``runs.NAME.late_usd_per_day``, ``providers.NAME.on_demand_usd_per_gpu_hour``...)."""
    table: dict[str, Prior] = {}
    for group in dataclasses.fields(cfg.priors):
        node = getattr(cfg.priors, group.name)
        for f in dataclasses.fields(node):
            table[f"{group.name}.{f.name}"] = prior_from_spec(getattr(node, f.name), dict(f.metadata))
    run_domain = (
        {f.name: dict(f.metadata) for f in dataclasses.fields(type(next(iter(cfg.runs.values()))))}
        if cfg.runs
        else {}
    )
    for name, run in cfg.runs.items():
        for field in RUN_PRIORS:
            table[f"runs.{name}.{field}"] = prior_from_spec(getattr(run, field), run_domain[field])
    provider_domain = {f.name: dict(f.metadata) for f in dataclasses.fields(ProviderConfig)}
    for name, provider in cfg.providers.items():
        for field in PROVIDER_PRIORS:
            table[f"providers.{name}.{field}"] = prior_from_spec(getattr(provider, field), provider_domain[field])
    return table


def cast_table(table: dict[str, Prior], dtype: Any) -> dict[str, Prior]:
    """The same table with every array leaf in ``dtype``."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), table)


def sample_parameters(table: dict[str, Prior], parameter_keys: jax.Array, dtype) -> dict[str, jax.Array]:
    """Every path's parameters, (N,) each: ``theta_name = F_name^{-1}(U)``, ``U`` from ``fold_in(path_key,
    stable_id(name))``.

    All priors are drawn in one vectorised call and one ``ndtri`` over (K, N) (one program instead of K, which
    compiles faster); each value is :meth:`Prior.ppf_at` of its uniform and normal score.
    """
    names = list(table)
    ids = jnp.asarray([stable_id(name) for name in names], jnp.uint32)
    draw = lambda key: jax.vmap(lambda i: uniforms(jax.random.fold_in(key, i), (), dtype))(ids)  # noqa: E731
    u = jax.vmap(draw, out_axes=1)(parameter_keys)  # (K, N)
    z = ndtri(u)
    return {name: table[name].ppf_at(u[j], z[j]).astype(dtype) for j, name in enumerate(names)}
