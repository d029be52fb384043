"""Priors as data: distribution specs turned into a pytree, and their inverse CDFs in JAX.

Every path draws each uncertain parameter once, from one uniform mapped through the inverse CDF (so Latin hypercube or
Sobol designs are a change of the uniforms only). The uniform of parameter ``name`` on path ``i`` comes from the key
``fold_in(fold_in(root, PARAMETER_STREAM), i)`` folded with ``stable_id(name)``: adding a prior never changes the
draws of the others, and a path's draws do not depend on the chunk it runs in.

The distribution family is static (part of the tree structure); its parameters are array leaves, so changing a prior's
value never recompiles the engine.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, ndtri

from .schema import Config, PriorSpec

Z90 = 1.2815515655446004  # standard normal 90th percentile: lognormal sigma = ln(p90 / median) / Z90
BETA_BISECTION_STEPS = 40  # bisection on the regularised incomplete beta: |error| < 2**-40


def stable_id(name: str) -> int:
    """A 31-bit id of a name, the same on every machine and run (CRC-32)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Prior:
    """A distribution in engine form: ``a`` and ``b`` are its two parameters, ``low``/``high`` its clip range.

    fixed: a = value; uniform: a = low, b = high; normal: a = mean, b = sd; lognormal: a = ln(median),
    b = ln(p90 / median) / z90; beta: a = alpha, b = beta (from mean m and sd s: nu = m(1-m)/s^2 - 1,
    alpha = m nu, beta = (1-m) nu).
    """

    a: jax.Array
    b: jax.Array
    low: jax.Array
    high: jax.Array
    dist: str = dataclasses.field(metadata=dict(static=True))

    def ppf(self, u: jax.Array) -> jax.Array:
        """Inverse CDF at ``u`` in (0, 1), clipped to ``[low, high]``."""
        if self.dist == "fixed":
            x = jnp.broadcast_to(self.a, u.shape).astype(u.dtype)
        elif self.dist == "uniform":
            x = self.a + (self.b - self.a) * u
        elif self.dist == "normal":
            x = self.a + self.b * ndtri(u)
        elif self.dist == "lognormal":
            x = jnp.exp(self.a + self.b * ndtri(u))
        else:
            x = _beta_ppf(u, self.a, self.b)
        return jnp.clip(x, self.low, self.high)


def _beta_ppf(u: jax.Array, alpha: jax.Array, beta: jax.Array) -> jax.Array:
    """Beta inverse CDF by bisection of ``betainc(alpha, beta, x) = u`` on [0, 1]."""

    def step(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = betainc(alpha, beta, mid) < u
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, BETA_BISECTION_STEPS, step, (jnp.zeros_like(u), jnp.ones_like(u)))
    return 0.5 * (lo + hi)


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
    return Prior(*(jnp.asarray(v, jnp.float32) for v in (a, b, low, high)), dist=spec.dist)


def prior_table(cfg: Config) -> dict[str, Prior]:
    """Every prior of the config, by dotted name (``market.drift_per_year``, ``runs.NAME.gpu_hours``)."""
    table: dict[str, Prior] = {}
    for group in dataclasses.fields(cfg.priors):
        node = getattr(cfg.priors, group.name)
        for f in dataclasses.fields(node):
            table[f"{group.name}.{f.name}"] = prior_from_spec(getattr(node, f.name), dict(f.metadata))
    run_domain = {f.name: dict(f.metadata) for f in dataclasses.fields(type(next(iter(cfg.runs.values()))))} \
        if cfg.runs else {}
    for name, run in cfg.runs.items():
        table[f"runs.{name}.gpu_hours"] = prior_from_spec(run.gpu_hours, run_domain["gpu_hours"])
    return table


def cast_table(table: dict[str, Prior], dtype: Any) -> dict[str, Prior]:
    """The same table with every array leaf in ``dtype``."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), table)


def sample_path_parameters(table: dict[str, Prior], path_key: jax.Array, dtype: Any) -> dict[str, jax.Array]:
    """Draw every parameter for one path: ``theta_name = F_name^{-1}(U)``, ``U`` from the name's own key."""
    tiny = jnp.finfo(dtype).tiny
    out = {}
    for name, p in table.items():
        u = jax.random.uniform(jax.random.fold_in(path_key, stable_id(name)), (), dtype, minval=tiny, maxval=1.0)
        out[name] = p.ppf(u).astype(dtype)
    return out
