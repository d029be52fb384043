"""Randomised quasi-Monte Carlo for the per-path prior draws: ``R`` independently scrambled Sobol sequences.

With ``engine.sampling=qmc`` the uniform of every non-fixed prior on path ``i`` is a coordinate of a scrambled Sobol
point instead of a pseudo-random number; the step-level noise stays pseudo-random. Everything is computed inside the
jitted chunk from the path index and the seed, so a path's draws do not depend on the chunk, the device or the
other paths.

Notes
-----
* **Replicates**: path ``i`` belongs to scramble ``r = i mod R`` and uses point ``k = i div R`` of it, so any prefix
  of ``n`` paths holds ``floor(n / R)`` or ``ceil(n / R)`` points of every scramble.
* **Sobol point** ``k`` in dimension ``j`` (Gray-code order, as :class:`scipy.stats.qmc.Sobol`):
  ``x_j(k) = XOR_{b : bit b of g(k) set} v_{j,b}``, ``g(k) = k XOR (k >> 1)``, with the 32-bit direction numbers
  ``v_{j,b}`` of scipy's (Joe-Kuo) table (:func:`sobol_directions`).
* **Scramble** ``r`` (Matousek's linear matrix scramble plus a digital shift, as scipy's ``scramble=True``): for
  every dimension a random lower-triangular binary matrix ``L`` with unit diagonal acting on the binary digits
  ``x = 0.d_1 d_2 ...`` (``d_1`` the most significant) and a random shift ``e``: ``y = L x XOR e``. It is linear
  over GF(2), so it is applied once to the direction numbers (``v'_b = L v_b``) and every point is
  ``y(k) = XOR_b v'_b XOR e``. ``L`` and ``e`` come from the named stream ``"stream/qmc_scrambles"`` folded with
  ``r`` (:mod:`simulator.engine._keys`); no other stream draws them.
* **Uniform**: ``u = (floor(y / 2^9) + 1/2) / 2^23`` in float32 (the 23 leading digits, as many as the pseudo-random
  uniforms have; exact in float32, so never 0 or 1 and a net's strata are kept), then cast. Each scramble's points are uniform on ``(0, 1)^d`` and the
  ``R`` scrambles are independent, so a mean over paths is unbiased and its SE is the spread of the ``R``
  per-scramble means, ``sd_r(mean_r) / sqrt(R)`` (:mod:`simulator.stats.replicates`).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import qmc

from simulator.engine._keys import stable_id

QMC_STREAM = "stream/qmc_scrambles"
BITS = 32


@functools.lru_cache(maxsize=8)
def sobol_directions(dimensions: int) -> np.ndarray:
    """Direction numbers ``v_{j,b}`` (``dimensions``, 32) uint32 of scipy's unscrambled Sobol sequence.

    Read from ``Sobol(d, scramble=False, bits=32)`` (its table, initialised from Joe and Kuo's); the test
    ``tests/engine/test_qmc.py`` checks the points they give against scipy's own points.
    """
    engine = qmc.Sobol(max(dimensions, 1), scramble=False, bits=BITS)
    return np.asarray(engine._sv, np.uint32)[:dimensions].copy()


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class QmcDesign:
    """The Sobol design of a run: direction numbers (D, 32) uint32 (an array leaf) and ``scrambles`` ``R`` (static)."""

    directions: jax.Array
    scrambles: int = dataclasses.field(metadata=dict(static=True))

    @classmethod
    def of(cls, dimensions: int, scrambles: int) -> QmcDesign:
        return cls(jnp.asarray(sobol_directions(dimensions)), scrambles=scrambles)


def _parity(x: jax.Array) -> jax.Array:
    return jax.lax.population_count(x) & jnp.uint32(1)


def scramble_tables(design: QmcDesign, root_key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Scrambled direction numbers ``v' = L v`` (R, D, 32) and digital shifts ``e`` (R, D) of every scramble.

    Row ``i`` of ``L`` (output digit ``d_{i+1}``, bit ``31 - i``) has random bits on the ``i`` more significant
    digits, a one on the diagonal and zeros below; output bit ``31 - i`` of ``L v`` is the parity of ``row_i AND v``.
    """
    d = design.directions.shape[0]
    stream = jax.random.fold_in(root_key, stable_id(QMC_STREAM))
    bits = jax.vmap(lambda r: jax.random.bits(jax.random.fold_in(stream, r), (d, BITS + 1), jnp.uint32))(
        jnp.arange(design.scrambles, dtype=jnp.uint32))  # (R, D, 33)
    i = jnp.arange(BITS, dtype=jnp.uint32)
    diagonal = jnp.uint32(1) << (jnp.uint32(BITS - 1) - i)  # (32,)
    upper = ~(diagonal - jnp.uint32(1))  # the digits d_1 .. d_{i+1}
    rows = (bits[..., :BITS] & upper) | diagonal  # (R, D, 32 rows)
    # v'[r, j, b] = sum_i parity(rows[r, j, i] & v[j, b]) << (31 - i)
    hits = _parity(rows[:, :, None, :] & design.directions[None, :, :, None])  # (R, D, 32 b, 32 i)
    scrambled = jnp.bitwise_or.reduce(hits << (jnp.uint32(BITS - 1) - i), axis=-1)
    return scrambled, bits[..., BITS]


def sobol_bits(directions: jax.Array, shifts: jax.Array, scramble: jax.Array, k: jax.Array) -> jax.Array:
    """Points ``XOR_{b in g(k)} directions[scramble, :, b] XOR shifts[scramble]`` as uint32, (D, N).

    ``directions`` (R, D, 32), ``shifts`` (R, D), ``scramble`` and ``k`` (N,) uint32. Unscrambled (R = 1, zero
    shift) these are scipy's points times ``2^32``.
    """
    gray = k ^ (k >> 1)
    x = shifts[scramble].T  # (D, N)
    for b in range(BITS):
        on = ((gray >> b) & jnp.uint32(1)).astype(bool)
        x = x ^ jnp.where(on[None, :], directions[scramble, :, b].T, jnp.uint32(0))
    return x


def qmc_uniforms(design: QmcDesign, root_key: jax.Array, path_ids: jax.Array, dtype) -> jax.Array:
    """The scrambled Sobol uniforms of the paths ``path_ids``, (D, N) in ``dtype`` (see module Notes)."""
    ids = path_ids.astype(jnp.uint32)
    r = jnp.uint32(design.scrambles)
    directions, shifts = scramble_tables(design, root_key)
    x = sobol_bits(directions, shifts, ids % r, ids // r)
    u = ((x >> 9).astype(jnp.float32) + 0.5) * jnp.float32(2.0**-23)  # exact in float32: 24 significant bits
    return u.astype(dtype)
