"""Loop-free samplers driven by uniforms, so strategies can share them (common random numbers)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

POISSON_TERMS = 32  # inverse-CDF terms: P(N >= 32) < 1e-7 for rates up to the switch below
POISSON_NORMAL_ABOVE = 12.0  # above this rate: continuity-corrected normal approximation


def poisson_from_uniform(u: jax.Array, rate: jax.Array) -> jax.Array:
    """Poisson(rate) variate from one uniform ``u``, by inverse CDF.

    Notes
    -----
    For ``rate <= 12`` the count is ``N = #{k < 31 : F(k) < u}`` with ``F(k) = sum_{j<=k} e^{-r} r^j / j!``, exact up
    to the truncation ``P(N >= 32 | r = 12) < 1e-7``. Above 12 the count is
    ``max(0, floor(r + sqrt(r) Phi^{-1}(u) + 1/2))``, whose CDF error is below 0.02 at r = 12 and falls as
    ``1/sqrt(r)`` (Berry-Esseen); its mean and variance match the Poisson's to O(1). ``jax.random.poisson`` is
    avoided: its rejection loops are 10x slower on CPU (PERF-NOTES.md). The same ``u`` with a larger rate never
    gives fewer events, which keeps comparisons between strategies monotone.

    Evaluation: the draws are computed only when some element's rate is positive (a rate of zero gives zero), and
    the normal branch only when some rate is above the switch; each is a separate computation (``lax.cond``), so
    XLA materialises the counts once instead of fusing the 31 terms into every consumer. Neither shortcut changes
    a value, and neither depends on the other elements' values beyond skipping work.
    """
    dtype = jnp.result_type(u, rate)
    u, rate = jnp.broadcast_arrays(jnp.asarray(u, dtype), jnp.asarray(rate, dtype))
    zeros = lambda u, rate: jnp.zeros_like(rate)  # noqa: E731
    return jax.lax.cond(jnp.any(rate > 0.0), _poisson, zeros, u, rate)


def _poisson(u: jax.Array, rate: jax.Array) -> jax.Array:
    small_rate = jnp.minimum(rate, POISSON_NORMAL_ABOVE)
    term = jnp.exp(-small_rate)
    cdf = term
    count = jnp.zeros_like(u)
    for k in range(1, POISSON_TERMS):
        count = count + (u > cdf)
        term = term * (small_rate * (1.0 / k))  # multiply by a constant: a vector division is ~10x slower
        cdf = cdf + term
    large = rate > POISSON_NORMAL_ABOVE
    approx = jax.lax.cond(jnp.any(large), _normal_count, lambda u, rate: jnp.zeros_like(rate), u, rate)
    return jnp.where(large, approx, count)


def _normal_count(u: jax.Array, rate: jax.Array) -> jax.Array:
    """Continuity-corrected normal approximation of a Poisson count."""
    return jnp.maximum(0.0, jnp.floor(rate + jnp.sqrt(rate) * ndtri(u) + 0.5))
