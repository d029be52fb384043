"""The Monte Carlo engine: a jitted ``lax.scan`` over months of steps (:mod:`simulator.engine.step`), for a chunk of
paths, every strategy at once.

Paths are the minor (last) axis of every state leaf, so each elementwise operation vectorises over paths
(:meth:`StrategyTable.with_path_axis`); only the key derivations are vmapped over paths.

Randomness: every stream has a name (:mod:`simulator.engine._keys`); path ``i``'s uniform of stream ``name`` at step
``t`` depends only on (seed, name, i, t), not on the chunk a path runs in or on the other streams. All strategies
consume the same uniforms (common random numbers).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from simulator.engine._keys import PARAMETER_STREAM, stream_keys
from simulator.engine._xla import ordered_sum
from simulator.engine.accounting import finalise
from simulator.engine.cash import cumulative_spend
from simulator.engine.inputs import EngineInputs, Grid, RunSpec, slot_layout
from simulator.engine.params import Params
from simulator.engine.priors import sample_parameters
from simulator.engine.qmc import qmc_uniforms
from simulator.engine.state import EXPANSION_STREAM, State, init_state, path_draws
from simulator.engine.step import month_end, step

__all__ = ["EXPANSION_STREAM", "TRAJECTORIES", "EngineInputs", "Grid", "RunSpec", "simulate_chunk",
           "simulate_chunk_jit", "slot_layout"]

TRAJECTORIES = {  # the monthly outputs (kept for report.trajectory_paths paths): name -> value at the month's end
    "cumulative_cost": lambda state: ordered_sum(state.pv),
    "cumulative_cash": lambda state: cumulative_spend(state.cash),
    "backlog": lambda state: state.light + state.heavy,
    "owned_gpus_up": lambda state: state.fleet.installed - state.fleet.down,
    "price_index": lambda state: jnp.exp(state.log_index),
    "demand_rate": lambda state: jnp.exp(state.log_demand),
}


def simulate_chunk(inputs: EngineInputs, root_key: jax.Array, path_ids: jax.Array, grid: Grid) -> dict:
    """Simulate the paths ``path_ids`` for every strategy; every output has a leading path axis.

    Path ``i`` draws from keys folded from ``(root, stream name, i)`` alone, so results do not depend on the chunk.
    """
    dtype = inputs.discount_rate_per_year.dtype
    inputs = dataclasses.replace(inputs, strategies=inputs.strategies.with_path_axis())
    design = None if inputs.qmc is None else qmc_uniforms(inputs.qmc, root_key, path_ids, dtype)
    flat = sample_parameters(inputs.priors, stream_keys(root_key, PARAMETER_STREAM, path_ids), dtype, inputs.copula,
                             design)
    params = Params.from_flat(flat, inputs.run_names, inputs.catalogue)
    draws = path_draws(inputs, params, grid, root_key, path_ids, dtype)
    state = init_state(inputs, params, draws, dtype)

    def month(state: State, m: jax.Array):
        def day(state: State, k: jax.Array):
            return step(inputs, params, grid, draws, state, m * grid.steps_per_month + k), None

        state, _ = jax.lax.scan(day, state, jnp.arange(grid.steps_per_month))
        snapshot = {name: value(state) for name, value in TRAJECTORIES.items()}
        return month_end(inputs, params, grid, draws, state, m), snapshot

    state, monthly = jax.lax.scan(month, state, jnp.arange(grid.months))
    return finalise(inputs, params, grid.horizon_days, state, monthly)


simulate_chunk_jit = jax.jit(simulate_chunk, static_argnames="grid")
