"""What the engine is given: the static time grid and the array inputs (priors, strategies, runs, discounting, the
dataset's home)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import numpy as np

from simulator.config.providers import builtin_names
from simulator.engine._constants import DAYS_PER_MONTH
from simulator.engine.priors import Copula, Prior
from simulator.engine.qmc import QmcDesign
from simulator.engine.strategies import DEFAULT_PROVIDERS, StrategyTable


@dataclasses.dataclass(frozen=True)
class Grid:
    """Static time grid: ``months`` x ``steps_per_month`` steps of ``dt_days``."""

    months: int
    steps_per_month: int

    @property
    def dt_days(self) -> float:
        return DAYS_PER_MONTH / self.steps_per_month

    @property
    def horizon_days(self) -> float:
        return self.months * DAYS_PER_MONTH

    @classmethod
    def from_step(cls, horizon_months: int, step_days: float) -> Grid:
        return cls(horizon_months, max(1, round(DAYS_PER_MONTH / step_days)))


class RunSpec(NamedTuple):
    """The named training runs, (R,) each: width in GPUs, start and deadline days."""

    gpus: jax.Array
    start_day: jax.Array
    deadline_day: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class EngineInputs:
    """Everything numeric the engine reads; all leaves are arrays, so new values never recompile."""

    priors: dict[str, Prior]
    strategies: StrategyTable
    run_gpus: jax.Array  # (R,)
    run_start_day: jax.Array  # (R,)
    run_deadline_day: jax.Array  # (R,)
    discount_rate_per_year: jax.Array  # ()
    run_missed_usd: jax.Array  # (R,) paid once if a run is more than ``run_missed_after_days`` late
    run_missed_after_days: jax.Array  # (R,) inf: no cut-off
    home_provider: jax.Array  # () int: provider id where the dataset lives (``data.home``, index in ``providers``)
    funding_month: jax.Array  # () months of spending the cash on hand must cover (``decision.funding_month``; inf: all)
    copula: Copula | None = None  # rank-correlated priors (the config's ``correlations``); None: all independent
    qmc: QmcDesign | None = None  # engine.sampling=qmc: the Sobol design of the per-path prior draws; None: mc
    run_names: tuple[str, ...] = dataclasses.field(default=(), metadata=dict(static=True))
    # the provider universe (built-in providers, then the catalogue: :mod:`simulator.config.providers`) and the
    # storage price class of each (``storage.{class}_usd_per_tb_month``)
    providers: tuple[str, ...] = dataclasses.field(default=DEFAULT_PROVIDERS, metadata=dict(static=True))
    provider_storage: tuple[str, ...] = dataclasses.field(
        default=("onprem", "academic", "notebook", "cloud", "cloud", "marketplace"), metadata=dict(static=True))
    # provider id of every slot, (S, P) nested tuples like ``slot_kinds``: static, so dataset copies are tracked only
    # for the providers a strategy can use; () = unknown
    slot_providers: tuple[tuple[int, ...], ...] = dataclasses.field(default=(), metadata=dict(static=True))
    # Kind code of every slot, (S, P) nested tuples (see :func:`slot_layout`): static, so work that is zero by kind
    # (a Poisson draw at no hazard, failures of a strategy without owned GPUs) is not compiled; () = unknown.
    slot_kinds: tuple[tuple[int, ...], ...] = dataclasses.field(default=(), metadata=dict(static=True))

    # owned order slots per strategy (:mod:`simulator.engine.procurement`), and whether any strategy leases (the
    # step then books lease payments): static
    order_slots: int = dataclasses.field(default=1, metadata=dict(static=True))
    leases: bool = dataclasses.field(default=False, metadata=dict(static=True))

    @property
    def runs(self) -> RunSpec:
        return RunSpec(self.run_gpus, self.run_start_day, self.run_deadline_day)

    @property
    def catalogue(self) -> tuple[str, ...]:
        """The catalogue providers (the universe less the built-in ones), in ``Params.provider_*`` order."""
        return self.providers[len(builtin_names()):]

    @property
    def layout(self) -> tuple[tuple[int, ...], ...] | None:
        """The static kind layout, None if unknown."""
        return self.slot_kinds or None


def slot_layout(strategies: StrategyTable, leaf: str = "kind") -> tuple[tuple[int, ...], ...]:
    """The static layout of a (concrete) strategy table's ``leaf``: kind codes for :attr:`EngineInputs.slot_kinds`,
    provider ids for :attr:`EngineInputs.slot_providers`."""
    return tuple(tuple(int(k) for k in row) for row in np.asarray(getattr(strategies, leaf)))
