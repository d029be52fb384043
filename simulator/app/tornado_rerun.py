"""The tornado's engine re-runs, built here so that the analysis never runs the engine itself.

:func:`simulator.decision.analyse.analyse` takes a ``rerun`` (:class:`simulator.decision.sensitivity.Rerun`);
:func:`simulator.app.run.run_job` passes an :class:`EngineRerun` of the validated config. Each call re-runs two
strategies on the same paths and seed as each other (common random numbers) with some priors pinned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from simulator.config.schema import Config
from simulator.engine.host import build_inputs, run_paths


def pin_prior(inputs, name: str, value: float):
    """Engine inputs with prior ``name`` pinned at ``value`` on every path (its clip range set to the value; no
    recompile, and every other prior and every path keep their random numbers)."""
    prior = inputs.priors[name]
    v = jnp.asarray(value, prior.low.dtype)
    return dataclasses.replace(inputs, priors={**inputs.priors, name: dataclasses.replace(prior, low=v, high=v)})


def prior_quantile(inputs, name: str, q: float) -> float:
    """The ``q``-quantile of prior ``name`` (its inverse CDF, clipped to its domain)."""
    prior = inputs.priors[name]
    return float(prior.ppf(jnp.asarray(q, prior.low.dtype)))


class EngineRerun:
    """Re-runs a pair of the config's strategies on ``decision.sensitivity.tornado_paths`` paths of its seed."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.paths = cfg.decision.sensitivity.tornado_paths
        self.scrambles = cfg.engine.scrambles  # SEs: replicates
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
