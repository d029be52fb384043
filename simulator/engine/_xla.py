"""How the engine keeps XLA:CPU fast and its results bit-identical across chunk sizes: the four tricks, explained once.

Notes
-----
The engine is elementwise arithmetic over arrays whose last (minor) axis is the paths of a chunk, so XLA:CPU emits
vectorised loops over paths. Four things it does badly on CPU, and what the engine does instead:

*Re-computation through fusion* (:func:`materialise`). XLA fuses cheap elementwise producers into every consumer, so
a routing result read by a dozen cost categories would be recomputed a dozen times per element. A conditional is
never fused, so passing values through ``lax.cond`` on a predicate that is true at run time (but not a constant the
compiler could fold) computes them once into buffers. ``jax.lax.optimization_barrier`` would say this more plainly,
but XLA:CPU drops it before fusion. Which values to materialise was measured: materialising the checkpoint
efficiency and the loss per interruption (kept inline in the step) made some results depend on the chunk size in
the last bit, presumably through shape-dependent code generation of their consumers.

*Scalar code for slicing, stacking, concatenation and pads* (:func:`on_rows`, and the per-slot lists of
:class:`simulator.engine.routing.Usage`). XLA:CPU compiles slicing and stacking of a small axis (slots, strategies)
into scalar loops, several times slower than the vectorised elementwise loops. Per-slot quantities are therefore
lists of ``(S, N)`` arrays, and work done on a subset of strategies takes a contiguous slice and puts the rows back
with masks (elementwise selects).

*Work that is provably zero* (:func:`rows_with`, :func:`slot_has`, :func:`kinds_present`). The kind of every slot
is static (known at trace time), so a draw at a hazard that is zero by kind (a Poisson count for an owned or
on-demand slot) or failures of a strategy that owns no GPUs are not compiled at all, and a selection by kind (a cost
category, an interruption count, a pool term) only tests the kinds that the slot has in some strategy. Skipping them
changes no value (it drops selects of zeros and additions of exact zeros).

*Reduction order* (:func:`ordered_sum`). ``jnp.sum`` lets XLA pick a reduction order that depends on the batch
shape; a fixed left-to-right order keeps every path's result bit-identical whatever the chunk size. (Sums with a
single non-zero term are exact either way.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Layout = tuple[tuple[int, ...], ...] | None  # static kind code of every slot (S, P); None: unknown


def materialise(tree, always: jax.Array):
    """``tree`` unchanged, computed once into buffers: a fusion boundary (``always`` is true at run time).

    The other branch is never taken; it only has to have the same types.
    """
    never = lambda t: jax.tree_util.tree_map(lambda x: jnp.sqrt(x) if jnp.issubdtype(x.dtype, jnp.floating)  # noqa: E731
                                             else x, t)
    return jax.lax.cond(always, lambda t: t, never, tree)


def rows_with(layout: Layout, n_rows: int, codes: tuple[int, ...], slot: int | None = None) -> tuple[int, ...]:
    """Strategies (rows) whose slot ``slot`` (any slot if None) is of a kind in ``codes``, from the static layout.

    ``layout`` holds every slot's kind code, known at trace time; ``None`` means unknown, and every row qualifies.
    """
    if layout is None:
        return tuple(range(n_rows))
    return tuple(s for s, kinds in enumerate(layout)
                 if any(k in codes for k in (kinds if slot is None else kinds[slot:slot + 1])))


def slot_has(layout: Layout, slot: int, code: int) -> bool:
    """Whether some strategy's slot ``slot`` is of kind ``code`` (True if the layout is unknown): where it is not,
    ``kind[:, slot] == code`` is false on every row, and the engine leaves the term out instead of selecting zeros."""
    return layout is None or any(kinds[slot] == code for kinds in layout)


def kinds_present(layout: Layout, n_kinds: int) -> tuple[int, ...]:
    """Kind codes that some slot has (every code below ``n_kinds`` if the layout is unknown)."""
    return tuple(range(n_kinds)) if layout is None else tuple(sorted({k for row in layout for k in row if k >= 0}))


def on_rows(rows: tuple[int, ...], n_rows: int, fn, *arrays: jax.Array) -> jax.Array | None:
    """``fn(*arrays)`` evaluated on the rows ``rows`` only (leading axis), zeros elsewhere; None if no row."""
    if not rows:
        return None
    if len(rows) == n_rows:
        return fn(*arrays)
    contiguous = rows == tuple(range(rows[0], rows[-1] + 1))
    take = (lambda a: a[rows[0]:rows[-1] + 1]) if contiguous else (lambda a: jnp.stack([a[s] for s in rows]))
    picked = fn(*(take(a) for a in arrays))
    row = jnp.arange(n_rows).reshape((n_rows,) + (1,) * (picked.ndim - 1))
    out = jnp.where(row == rows[0], picked[0], 0.0)
    for i, s in enumerate(rows[1:], start=1):
        out = jnp.where(row == s, picked[i], out)
    return out.astype(picked.dtype)


def ordered_sum(x: jax.Array, axis: int = 1) -> jax.Array:
    """Sum over ``axis`` in a fixed left-to-right order (bit-identical whatever the batch shape)."""
    parts = [jnp.take(x, i, axis=axis) for i in range(x.shape[axis])]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total
