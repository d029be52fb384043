"""Warnings where the input is valid but hopeless: the run goes on, with one ``WARNING`` line per finding.

Called by :func:`simulator.config.load.to_validated` after validation, so the command line (in the run's log) and
notebooks (``simulator.load_config``) both get them. They go to the ``simulator.config`` logger: Hydra's log
format on the command line, and Python's last-resort handler (the bare line on stderr) where nothing configured
logging. Three findings:

- a named training run wider than every pool of a strategy that serves runs: a run of width ``w`` takes ``w`` GPUs
  on one pool (:mod:`simulator.engine.routing`), so if ``w > max_p cap_p`` over the strategy's pools ``p`` with
  ``runs`` in ``serves`` it can never start there (``cap_p``: the pool's ``gpus``, unbounded for an owned pool that
  can grow by expansion or procurement; the per-kind width limits of :mod:`simulator.engine.kinds` come on top);
- a strategy with no pool that serves some kind of its work (``light`` and ``heavy`` steady work unless the
  workload priors fix them at zero, ``runs`` when the scenario names runs): that work is never served there;
- a command-line override that sets a mapping to ``{}``: OmegaConf merges an empty mapping as a no-op, so
  ``priors.spot={}`` changes nothing (remove a key with ``~key``; a value equal to the default is not warned about).
"""

from __future__ import annotations

import logging
import math

from .schema import Config, PoolConfig, PriorSpec, StrategyConfig

log = logging.getLogger("simulator.config")


def config_warnings(cfg: Config, overrides: list[str] = ()) -> list[str]:
    """The warning lines for a validated config and the command-line ``overrides`` it was composed with."""
    lines = []
    work = _work_kinds(cfg)
    for name, strategy in cfg.strategies.items():
        missing = [kind for kind in work if not any(kind in pool.serves for pool in strategy.pools.values())]
        if missing:
            lines.append(f"strategies.{name}: no pool serves {' or '.join(missing)} work (pools' serves: "
                         f"{', '.join(f'{p}: {list(pool.serves)}' for p, pool in strategy.pools.items())}); "
                         "that work is never served by this strategy")
        widest = max((_capacity(pool, strategy) for pool in strategy.pools.values() if "runs" in pool.serves),
                     default=None)
        for run_name, run in cfg.runs.items():
            if widest is not None and run.gpus > widest:
                lines.append(f"runs.{run_name}.gpus = {run.gpus}: wider than every pool of strategies.{name} that "
                             f"serves runs (widest: {widest:g} GPUs); the run can never start on this strategy")
    lines += [f"{o}: an empty mapping merges as a no-op and changes nothing (remove a key with ~KEY, or set its "
              "fields)" for o in overrides if _empty_mapping(o)]
    return lines


def warn(cfg: Config, overrides: list[str] = ()) -> None:
    """Log each of :func:`config_warnings`' lines as one ``WARNING``."""
    for line in config_warnings(cfg, list(overrides)):
        log.warning(line)


def _work_kinds(cfg: Config) -> list[str]:
    """The kinds of work the scenario has: steady light/heavy work unless a fixed prior rules it out, and runs."""
    base, light = cfg.priors.workload.base_gpu_hours_per_day, cfg.priors.workload.light_fraction
    steady = not _fixed_at(base, 0.0)
    kinds = [k for k, present in (("light", steady and not _fixed_at(light, 0.0)),
                                  ("heavy", steady and not _fixed_at(light, 1.0))) if present]
    return kinds + (["runs"] if cfg.runs else [])


def _fixed_at(spec: PriorSpec, value: float) -> bool:
    return spec.dist == "fixed" and spec.value == value


def _capacity(pool: PoolConfig, strategy: StrategyConfig) -> float:
    """The most GPUs the pool can ever offer one run: its ``gpus``; an owned pool that can grow is unbounded."""
    pro = strategy.procurement
    grows = strategy.expansion.gpus > 0 or any(pro.schedule.order_gpus) or pro.base_stock.trigger_gpus > 0
    return math.inf if pool.kind == "owned" and grows else float(pool.gpus)


def _empty_mapping(override: str) -> bool:
    """``key={}`` (with or without ``+``/``++``), as Hydra parses it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if "{" not in override:
        return False
    try:
        (parsed,) = OverridesParser.create().parse_overrides([override])
    except (HydraException, ValueError):
        return False
    return not parsed.is_delete() and not parsed.is_sweep_override() and parsed.value() == {}
