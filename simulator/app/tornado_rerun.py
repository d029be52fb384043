"""The tornado's engine re-runs, built here so that the analysis never runs the engine itself.

:func:`simulator.decision.analyse.analyse` takes a ``rerun`` (:class:`simulator.decision.sensitivity.Rerun`);
:func:`simulator.app.run.run_job` passes an :class:`EngineRerun` of the validated config. Each call re-runs two
strategies on the same paths and seed as each other (common random numbers) with some priors pinned;
:meth:`EngineRerun.many` runs all of a tornado's pinned sets in one engine call (``vmap`` over the priors: one
compiled program and one pass of the step loop instead of ``1 + 2 k`` small runs of a few hundred paths, each of
which paid the step's per-kernel overhead ~1,000 times; only the cost is returned, so XLA drops the other outputs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from simulator.config.schema import Config
from simulator.engine.devices import round_chunk
from simulator.engine.host import build_inputs, root_key, run_paths
from simulator.engine.scan import simulate_chunk


def _batched_cost(inputs, priors, key, path_ids, grid):
    """Costs ``(B, paths, S)`` of ``inputs`` under each of the ``B`` stacked prior tables ``priors``."""
    one = lambda p: simulate_chunk(dataclasses.replace(inputs, priors=p), key, path_ids, grid)["cost"]  # noqa: E731
    return jax.vmap(one)(priors)


_batched_cost_jit = jax.jit(_batched_cost, static_argnames="grid")


def pin_prior(inputs, name: str, value: float):
    """Engine inputs with prior ``name`` pinned at ``value`` on every path (its clip range set to the value; no
    recompile, and every other prior and every path keep their random numbers)."""
    return dataclasses.replace(inputs, priors=pin_prior_table(inputs.priors, {name: value}))


def pin_prior_table(priors: dict, pinned: Mapping[str, float]) -> dict:
    """The prior table with each prior of ``pinned`` pinned at its value (see :func:`pin_prior`)."""
    out = dict(priors)
    for name, value in pinned.items():
        v = jnp.asarray(value, out[name].low.dtype)
        out[name] = dataclasses.replace(out[name], low=v, high=v)
    return out


def prior_quantile(inputs, name: str, q: float) -> float:
    """The ``q``-quantile of prior ``name`` (its inverse CDF, clipped to its domain)."""
    prior = inputs.priors[name]
    return float(prior.ppf(jnp.asarray(q, prior.low.dtype)))


class EngineRerun:
    """Re-runs a pair of the config's strategies on ``decision.sensitivity.tornado_paths`` paths of its seed."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.paths = cfg.decision.sensitivity.tornado_paths
        self._built: dict[tuple[str, ...], tuple] = {}

    def _inputs(self, pair: tuple[str, ...]):
        # the pair in the scenario's order: the compiled engine depends on the order of pool kinds, not on the ranking
        ordered = tuple(name for name in self.cfg.strategies if name in pair)
        if ordered not in self._built:
            subset = dataclasses.replace(self.cfg, strategies={name: self.cfg.strategies[name] for name in ordered})
            self._built[ordered] = (*build_inputs(subset), ordered)
        return self._built[ordered]

    def prior_quantile(self, name: str, q: float) -> float:
        """The ``q``-quantile of prior ``name``."""
        # the priors do not depend on the strategies: any pair built so far has them
        built = next(iter(self._built.values()), None) or self._inputs(tuple(self.cfg.strategies))
        return prior_quantile(built[0], name, q)

    def __call__(self, pair: tuple[str, str], pinned: Mapping[str, float]) -> np.ndarray:
        """Costs ``(2, paths)`` of ``pair`` (in its order) with each prior of ``pinned`` at its value."""
        inputs, grid, ordered = self._inputs(pair)
        for name, value in pinned.items():
            inputs = pin_prior(inputs, name, value)
        engine = self.cfg.engine
        outputs, _, _ = run_paths(inputs, grid, engine.seed, self.paths, engine.chunk_size, 0)
        return outputs["cost"][:, [ordered.index(name) for name in pair]].T

    def many(self, pair: tuple[str, str], pinned: list[Mapping[str, float]]) -> list[np.ndarray]:
        """:meth:`__call__` for every pinned set, batched: the same paths and keys, ``B`` prior tables at once (in
        groups of at most ``engine.chunk_size`` path-runs per call); equal to the separate calls within float32
        rounding (one program instead of another)."""
        inputs, grid, ordered = self._inputs(pair)
        tables = [pin_prior_table(inputs.priors, p) for p in pinned]
        chunk = round_chunk(self.cfg.engine.chunk_size, self.paths)
        group = max(1, self.cfg.engine.chunk_size // chunk)
        key, columns, out = root_key(self.cfg.engine.seed), [ordered.index(name) for name in pair], []
        for first in range(0, len(tables), group):
            batch = tables[first:first + group]
            batch += [batch[-1]] * (min(group, len(tables)) - len(batch))  # one shape for every group
            stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *batch)
            parts = [np.asarray(_batched_cost_jit(inputs, stacked, key, jnp.arange(s, s + chunk, dtype=jnp.uint32),
                                                  grid), float) for s in range(0, self.paths, chunk)]
            cost = np.concatenate(parts, axis=1)[:, :self.paths]
            out += [cost[b][:, columns].T for b in range(min(group, len(tables) - first))]
        return out
