"""Named random streams: every random number of the engine is derived from a name, never from a position.

Notes
-----
A stream is a name (``"workload/demand"``, ``"light/spot"``, ``"runs/foundation_v1"``). Its key on path ``i`` is
``fold_in(fold_in(root, stable_id(name)), i)``, and its uniform at counter ``c`` (the step, the month, the
allocation cycle) is the first word of one threefry block of that key at ``c`` (the key data of
``fold_in(key, c)``), mapped to (0, 1). So path ``i``'s numbers depend only on (seed, name, path, counter): not on
the chunk the path runs in, the device, the other streams drawn, or the order in which streams were added. A stream
that a run does not need (light work on a kind no strategy has) is simply not drawn, and no other stream changes.

Using the threefry output of ``fold_in`` as the random bits is counter-mode threefry, as ``jax.random.bits`` is
(which would hash once more): one block per uniform instead of two, which keeps the per-step draw, the engine's hot
path, at its former cost (PERF-NOTES.md). Uniforms are always made in float32 and then cast, so float32 and
float64 runs share their draws.

The priors draw the same way, one name per parameter, from the key of the stream ``"stream/parameters"``
(:func:`simulator.engine.priors.sample_parameters`); with ``engine.sampling=qmc`` their uniforms are scrambled Sobol
points instead, the scrambles drawn from the stream ``"stream/qmc_scrambles"`` (:mod:`simulator.engine.qmc`).
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp

from simulator.engine.kinds import KINDS, OWNED, SPOT

NO_HAZARD_UNIFORM = 0.5  # the uniform of a slot whose kind has no hazard: its Poisson count is 0 whatever it is
PARAMETER_STREAM = "stream/parameters"


def stable_id(name: str) -> int:
    """A 31-bit id of a name, the same on every machine and run (CRC-32)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def uniforms(key: jax.Array, shape: tuple[int, ...], dtype) -> jax.Array:
    """Uniforms on (0, 1) from ``key``, always drawn as float32 and then cast."""
    u = jax.random.uniform(key, shape, jnp.float32, minval=jnp.finfo(jnp.float32).tiny, maxval=1.0)
    return u.astype(dtype)


def stream_keys(root: jax.Array, name: str, path_ids: jax.Array) -> jax.Array:
    """The key of stream ``name`` on each path, (N,): ``fold_in(fold_in(root, stable_id(name)), i)``."""
    stream = jax.random.fold_in(root, stable_id(name))
    return jax.vmap(lambda i: jax.random.fold_in(stream, i))(path_ids)


def streams_keys(root: jax.Array, names: tuple[str, ...], path_ids: jax.Array) -> jax.Array:
    """Keys of several streams, (K, N), row ``k`` the stream ``names[k]``."""
    if not names:
        return jax.vmap(lambda i: jax.random.fold_in(root, i))(path_ids)[:0]
    return jnp.stack([stream_keys(root, name, path_ids) for name in names])


def counter_uniforms(keys: jax.Array, counter: jax.Array, dtype) -> jax.Array:
    """Each key's uniform at ``counter``, same shape as ``keys`` (see the module notes)."""
    fold = lambda key: jax.random.fold_in(key, counter)  # noqa: E731
    for _ in range(keys.ndim):
        fold = jax.vmap(fold)
    bits = jax.random.key_data(fold(keys))[..., 0]
    one_to_two = jax.lax.bitcast_convert_type((bits >> 9) | jnp.uint32(0x3F800000), jnp.float32)
    tiny = jnp.finfo(jnp.float32).tiny  # as jax.random.uniform(minval=tiny, maxval=1) maps its bits
    return jnp.maximum(tiny, (one_to_two - 1.0) * (1.0 - tiny) + tiny).astype(dtype)


def step_stream_names(layout: tuple[tuple[int, ...], ...] | None, run_names: tuple[str, ...]) -> tuple[str, ...]:
    """The per-step streams a run needs, by name: the shared drivers (the market regime among them), owned failures
    and repairs (if some strategy owns GPUs), light and heavy interruptions on each interruptible kind some strategy
    has, each run's own, and each run's spot obtainability ``runs/NAME/obtain`` (if some strategy has spot)."""
    present = set(range(len(KINDS))) if layout is None else {k for row in layout for k in row}
    names = ["workload/demand", "market/index", "spot/availability", "market/regime"]
    if OWNED in present:
        names += ["owned/failures", "owned/repairs"]
    for code, kind in enumerate(KINDS.values()):
        if kind.interruptible and code in present:
            names += [f"light/{kind.name}", f"heavy/{kind.name}"]
    obtain = tuple(f"runs/{name}/obtain" for name in run_names) if SPOT in present else ()
    return tuple(names) + tuple(f"runs/{name}" for name in run_names) + obtain
