"""Expand in-engine sweeps of strategy knobs into strategy variants (config time; see :mod:`simulator.sweeps.knobs`).

One knob::

    sweeps: {base_size: {strategy: hybrid, knob: pools.base.gpus, values: [0, 8, 16]}}

or a grid over 1-3 knobs (the cartesian product, at most :data:`MAX_VARIANTS` variants)::

    sweeps: {grid: {strategy: hybrid, knobs: {pools.base.gpus: [0, 16, 32], expansion.gpus: [8, 16]}}}

replace the strategy by one variant per grid point, each a full strategy config named
``hybrid@pools.base.gpus=16,expansion.gpus=8`` (knobs in the order given). A knob is a dotted path to a numeric
setting of the strategy; a part that is a whole number indexes a list (``procurement.order_gpus.1``).

Several sweeps may vary one strategy: each expands from the strategy's own config (not from another sweep's
variants), and the strategy is replaced, in its position, by the union of its sweeps' variants in sweep order. Two
sweeps that produce the same variant name (the same knobs at the same values) describe the same config: it is
simulated once and both sweeps read it.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from typing import Any

from .errors import ConfigError

MAX_KNOBS = 3
MAX_VARIANTS = 256  # grid points of one sweep: every variant is a strategy of the compiled run


def _child(node: Any, part: str) -> Any:
    if isinstance(node, list):
        return node[int(part)] if part.isdigit() and int(part) < len(node) else None
    return node.get(part) if isinstance(node, dict) else getattr(node, part, None)


def _knob_parent(strategy: Any, knob: str, where: str) -> tuple[Any, str]:
    node = strategy
    parts = knob.split(".")
    for part in parts[:-1]:
        node = _child(node, part)
        if node is None:
            raise ConfigError(f"{where} = {knob!r}: no such setting ({part!r} not found)")
    last = parts[-1]
    value = _child(node, last)
    if value is None and not (isinstance(node, list) and last.isdigit() and int(last) < len(node)):
        raise ConfigError(f"{where} = {knob!r}: no such setting ({last!r} not found)")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} = {knob!r}: must name a numeric setting of the strategy")
    return node, last


def _set(parent: Any, attribute: str, value: Any) -> None:
    if isinstance(parent, list):
        parent[int(attribute)] = value
    elif isinstance(parent, dict):
        parent[attribute] = value
    else:
        setattr(parent, attribute, value)


def variant_name(strategy: str, knob: str | dict, value: float | tuple = ()) -> str:
    """``hybrid@pools.base.gpus=16`` (one knob) or ``hybrid@pools.base.gpus=16,expansion.gpus=8`` (a grid point:
    ``knob`` the list of knobs and ``value`` the tuple of values)."""
    if isinstance(knob, str):
        return f"{strategy}@{knob}={value:g}"
    return f"{strategy}@" + ",".join(f"{k}={v:g}" for k, v in zip(knob, value, strict=True))


def sweep_knobs(sweep, where: str) -> dict[str, list[float]]:
    """The sweep's grid ``{knob: values}``: ``knobs``, or ``{knob: values}`` for the one-knob form; one-line errors
    for an empty, duplicated or oversized grid."""
    if sweep.knobs and (sweep.knob or sweep.values):
        raise ConfigError(f"{where}: give either knob and values or knobs, not both")
    grid = {str(k): list(v) if isinstance(v, list | tuple) else [v] for k, v in sweep.knobs.items()} if sweep.knobs else (
        {sweep.knob: list(sweep.values)} if sweep.knob else {})
    if not grid:
        raise ConfigError(f"{where}.knobs is empty: give knob and values, or knobs: {{path: [values]}}")
    if len(grid) > MAX_KNOBS:
        raise ConfigError(f"{where}.knobs has {len(grid)} knobs: at most {MAX_KNOBS} in one grid (more knobs: "
                          "the Optuna sweeper, hydra/sweeper=optuna)")
    for knob, values in grid.items():
        key = f"{where}.values" if not sweep.knobs else f"{where}.knobs.{knob}"
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise ConfigError(f"{key} = {values}: give a list of numbers")
        if not values:
            raise ConfigError(f"{key} is empty: give at least one value")
        if len(set(values)) < len(values):
            raise ConfigError(f"{key} = {values}: each value once")
    size = 1
    for values in grid.values():
        size *= len(values)
    if size > MAX_VARIANTS:
        raise ConfigError(f"{where}: the grid has {size} variants: at most {MAX_VARIANTS} per sweep")
    return grid


def grid_points(grid: dict[str, list[float]]) -> list[tuple[float, ...]]:
    """The cartesian product of the knobs' values, the last knob varying fastest."""
    return list(itertools.product(*grid.values()))


def sweep_labels(sweep, where: str = "sweeps") -> list[str]:
    """The variant names of a sweep's grid points, in :func:`grid_points` order."""
    grid = sweep_knobs(sweep, where)
    if not sweep.knobs:
        return [variant_name(sweep.strategy, sweep.knob, v) for v in sweep.values]
    return [variant_name(sweep.strategy, list(grid), point) for point in grid_points(grid)]


def _variants(base: Any, sweep, where: str) -> dict[str, Any]:
    """One full strategy config per grid point of ``sweep``, each from ``base``."""
    grid = sweep_knobs(sweep, where)
    casts = {}
    for knob, values in grid.items():
        key = f"{where}.knob" if not sweep.knobs else f"{where}.knobs"
        parent, attribute = _knob_parent(base, knob, key)
        cast = type(_child(parent, attribute))
        for v in values:
            if cast is int and float(v) != int(v) or v < 0:
                raise ConfigError(f"{key} = {knob!r}: value {v:g}: {knob} takes non-negative "
                                  f"{'whole numbers' if cast is int else 'numbers'}")
        casts[knob] = cast
    out = {}
    for label, point in zip(sweep_labels(sweep, where), grid_points(grid), strict=True):
        variant = copy.deepcopy(base)
        for knob, v in zip(grid, point, strict=True):
            _set(*_knob_parent(variant, knob, where), casts[knob](v))
        out[label] = variant
    return out


def check_prior_maps(cfg, prior_names) -> None:
    """One-line errors for a ``prior_maps`` entry naming an unknown or multi-knob sweep, an unknown prior (of
    ``prior_names``) or a ``versus`` that is not an unswept strategy of the scenario."""
    swept = {sweep.strategy for sweep in cfg.sweeps.values()}
    for name, m in cfg.prior_maps.items():
        where = f"prior_maps.{name}"
        if m.sweep not in cfg.sweeps:
            raise ConfigError(f"{where}.sweep = {m.sweep!r}: not a sweep of this scenario ({', '.join(cfg.sweeps)})")
        if len(sweep_knobs(cfg.sweeps[m.sweep], f"sweeps.{m.sweep}")) != 1:
            raise ConfigError(f"{where}.sweep = {m.sweep!r}: a decision map needs a sweep of one knob")
        if m.prior not in prior_names:
            raise ConfigError(f"{where}.prior = {m.prior!r}: not a prior of this scenario (e.g. "
                              "workload.growth_multiplier_per_year)")
        if m.versus not in cfg.strategies or m.versus in swept:
            raise ConfigError(f"{where}.versus = {m.versus!r}: must be a strategy of this scenario that no sweep "
                              f"expands ({', '.join(s for s in cfg.strategies if s not in swept)})")


def expand_sweeps(cfg) -> Any:
    """The config with each swept strategy replaced by the union of its sweeps' variants (see module docstring)."""
    if not cfg.sweeps:
        return cfg
    by_strategy: dict[str, dict[str, Any]] = {}
    for name, sweep in cfg.sweeps.items():
        where = f"sweeps.{name}"
        if sweep.strategy not in cfg.strategies:
            raise ConfigError(f"{where}.strategy = {sweep.strategy!r}: not a strategy of this scenario "
                              f"({', '.join(cfg.strategies)})")
        by_strategy.setdefault(sweep.strategy, {}).update(_variants(cfg.strategies[sweep.strategy], sweep, where))
    strategies = {}
    for key, value in cfg.strategies.items():
        strategies.update(by_strategy.get(key, {key: value}))
    return dataclasses.replace(cfg, strategies=strategies)
