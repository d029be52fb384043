"""Strategies as data: ordered capacity pools, encoded as arrays that one engine runs.

A strategy is a mapping of pools in priority order (YAML mapping order), each with a ``kind`` and a GPU count:
the owned fleet size for ``owned`` and the quota (GPUs at once) for rentals. Every step, training runs and then the
steady backlog are routed through the pools in that order (see :mod:`simulator.engine`). Adding a strategy is adding a
YAML file in ``conf/strategy/`` and a line in a scenario; no code changes.

The engine sees a :class:`StrategyTable` of shape ``(strategies, slots)``: ``kind`` codes, GPU counts and knobs are
array leaves, so changing a fleet size or quota never recompiles (only the number of strategies and slots is static).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .schema import POOL_KINDS, StrategyConfig

EMPTY = -1  # kind code of an unused slot
KIND_CODE = {kind: code for code, kind in enumerate(POOL_KINDS)}
OWNED, ON_DEMAND, SPOT = KIND_CODE["owned"], KIND_CODE["on_demand"], KIND_CODE["spot"]

COST_CATEGORIES = ("on_demand", "spot", "capex", "power", "facility", "staff", "residual")
CATEGORY_DESCRIPTIONS = {
    "on_demand": "on-demand rental (wall GPU-hours x on-demand price)",
    "spot": "spot rental (wall GPU-hours x spot price, lost work included)",
    "capex": "purchase of owned GPUs at delivery, at the loaded market price",
    "power": "electricity of owned GPUs: (busy + idle fraction x idle) GPU-h x kW x PUE x $/kWh",
    "facility": "space and cooling of owned GPUs per kW per month",
    "staff": "operations staff for owned GPUs",
    "residual": "resale value of owned GPUs at the horizon (a credit, negative)",
}
CATEGORY_INDEX = {name: i for i, name in enumerate(COST_CATEGORIES)}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class StrategyTable:
    """Pools of every strategy: ``kind`` (S, P) int codes (-1 empty), ``gpus`` (S, P), knobs (S,)."""

    kind: jax.Array
    gpus: jax.Array
    checkpoint_interval_hours: jax.Array

    @property
    def owned_gpus(self) -> jax.Array:
        """Owned fleet size per strategy, (S,)."""
        return jnp.sum(jnp.where(self.kind == OWNED, self.gpus, 0.0), axis=-1)


def strategy_table(strategies: dict[str, StrategyConfig], dtype=jnp.float32) -> StrategyTable:
    """Encode validated strategy configs (in their mapping order) as a :class:`StrategyTable`."""
    slots = max(len(s.pools) for s in strategies.values())
    kind = np.full((len(strategies), slots), EMPTY, np.int32)
    gpus = np.zeros((len(strategies), slots))
    for i, strategy in enumerate(strategies.values()):
        for j, pool in enumerate(strategy.pools.values()):
            kind[i, j] = KIND_CODE[pool.kind]
            gpus[i, j] = pool.gpus
    interval = np.array([s.checkpoint_interval_hours for s in strategies.values()])
    return StrategyTable(jnp.asarray(kind), jnp.asarray(gpus, dtype), jnp.asarray(interval, dtype))
