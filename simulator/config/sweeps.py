"""Expand in-engine sweeps of strategy knobs into strategy variants (config time; see :mod:`simulator.sweeps.knobs`).

``sweeps: {base_size: {strategy: hybrid, knob: pools.base.gpus, values: [0, 8, 16]}}`` replaces the strategy by one
variant per value (``hybrid@pools.base.gpus=16``), each a full strategy config.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from .errors import ConfigError


def _knob_parent(strategy: Any, knob: str, where: str) -> tuple[Any, str]:
    node = strategy
    parts = knob.split(".")
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            raise ConfigError(f"{where}.knob = {knob!r}: no such setting ({part!r} not found)")
    last = parts[-1]
    value = node.get(last) if isinstance(node, dict) else getattr(node, last, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.knob = {knob!r}: must name a numeric setting of the strategy")
    return node, last


def variant_name(strategy: str, knob: str, value: float) -> str:
    return f"{strategy}@{knob}={value:g}"


def expand_sweeps(cfg) -> Any:
    """The config with each swept strategy replaced by one variant per value (in the strategy's position)."""
    if not cfg.sweeps:
        return cfg
    strategies = dict(cfg.strategies)
    for name, sweep in cfg.sweeps.items():
        where = f"sweeps.{name}"
        if sweep.strategy not in strategies:
            raise ConfigError(f"{where}.strategy = {sweep.strategy!r}: not a strategy of this scenario "
                              f"({', '.join(cfg.strategies)})")
        if not sweep.values:
            raise ConfigError(f"{where}.values is empty: give at least one value")
        base = strategies[sweep.strategy]
        parent, attribute = _knob_parent(base, sweep.knob, where)
        cast = type(parent[attribute] if isinstance(parent, dict) else getattr(parent, attribute))
        expanded = {}
        for key, value in strategies.items():
            if key != sweep.strategy:
                expanded[key] = value
                continue
            for v in sweep.values:
                if cast is int and float(v) != int(v) or v < 0:
                    raise ConfigError(f"{where}.values contains {v:g}: {sweep.knob} takes non-negative "
                                      f"{'whole numbers' if cast is int else 'numbers'}")
                variant = copy.deepcopy(base)
                target, attr = _knob_parent(variant, sweep.knob, where)
                if isinstance(target, dict):
                    target[attr] = cast(v)
                else:
                    setattr(target, attr, cast(v))
                expanded[variant_name(sweep.strategy, sweep.knob, v)] = variant
        strategies = expanded
    return dataclasses.replace(cfg, strategies=strategies)


