"""Sampled parameters as typed pytrees: one NamedTuple per prior group, mirroring :mod:`simulator.config.priors`.

Every path draws every prior once (:func:`simulator.engine.priors.sample_parameters`, a table keyed by dotted name);
:meth:`Params.from_flat` turns that table into ``params.market.drift_per_year`` and so on, (N,) each.
The group types are built from the schema's dataclasses, so the fields cannot drift from the priors a config has: a
misspelt or missing field fails when the tree is built (``TypeError``), and a misspelt read fails at trace time
(``AttributeError``), never as a silent default.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax

from simulator.config import priors as schema
from simulator.config.schema import PROVIDER_PRIORS, RUN_PRIORS


def _group(name: str, spec: type) -> type:
    """A NamedTuple of arrays with the fields of a prior-group dataclass, in its order."""
    return NamedTuple(name, [(f.name, jax.Array) for f in dataclasses.fields(spec)])


WorkloadParams = _group("WorkloadParams", schema.WorkloadPriors)
MarketParams = _group("MarketParams", schema.MarketPriors)
SpotParams = _group("SpotParams", schema.SpotPriors)
OwnedParams = _group("OwnedParams", schema.OwnedPriors)
OperationsParams = _group("OperationsParams", schema.OperationsPriors)
StorageParams = _group("StorageParams", schema.StoragePriors)
HostingParams = _group("HostingParams", schema.HostingPriors)
AcademicParams = _group("AcademicParams", schema.AcademicPriors)
MarketplaceParams = _group("MarketplaceParams", schema.MarketplacePriors)
NotebookParams = _group("NotebookParams", schema.NotebookPriors)
ReservedParams = _group("ReservedParams", schema.ReservedPriors)
RegimeParams = _group("RegimeParams", schema.RegimePriors)


class Params(NamedTuple):
    """One path's (or, batched, every path's) parameters; groups as in :class:`simulator.config.priors.Priors`."""

    workload: WorkloadParams
    market: MarketParams
    spot: SpotParams
    owned: OwnedParams
    operations: OperationsParams
    storage: StorageParams
    onprem: HostingParams
    colo: HostingParams
    academic: AcademicParams
    marketplace: MarketplaceParams
    notebook: NotebookParams
    reserved: ReservedParams
    regime: RegimeParams
    run_gpu_hours: tuple[jax.Array, ...]  # size of each named run, in ``EngineInputs.run_names`` order
    run_late_usd_per_day: tuple[jax.Array, ...]  # cost of a day of lateness of each named run, same order
    # each catalogue provider's priors, in ``EngineInputs.provider_names`` catalogue order (built-ins excluded)
    provider_on_demand_usd_per_gpu_hour: tuple[jax.Array, ...]
    provider_spot_discount: tuple[jax.Array, ...]
    provider_egress_usd_per_tb: tuple[jax.Array, ...]

    @classmethod
    def from_flat(cls, flat: dict[str, jax.Array], run_names: tuple[str, ...],
                  provider_names: tuple[str, ...] = ()) -> Params:
        """From a table keyed ``group.field``, ``runs.NAME.FIELD`` and ``providers.NAME.FIELD`` (catalogue
        providers only; every key used exactly once)."""
        groups = {group: node(**{k.removeprefix(f"{group}."): v for k, v in flat.items() if k.startswith(f"{group}.")})
                  for group, node in GROUP_TYPES.items()}
        named = {f"{prefix}_{field}": tuple(flat[f"{prefix}s.{name}.{field}"] for name in names)
                 for prefix, names, fields in _named(run_names, provider_names) for field in fields}
        used = sum(len(g) for g in groups.values()) + sum(len(v) for v in named.values())
        if used != len(flat):
            known = set(cls.to_flat_names(run_names, provider_names))
            raise TypeError(f"parameters not in any group: {sorted(set(flat) - known)}")
        return cls(**groups, **named)

    @staticmethod
    def to_flat_names(run_names: tuple[str, ...], provider_names: tuple[str, ...] = ()) -> list[str]:
        """Dotted names of every parameter, in prior-table order."""
        names = [f"{g}.{f}" for g, node in GROUP_TYPES.items() for f in node._fields]
        return names + [f"{prefix}s.{name}.{field}" for prefix, names_, fields in _named(run_names, provider_names)
                        for name in names_ for field in fields]

    def to_flat(self, run_names: tuple[str, ...], provider_names: tuple[str, ...] = ()) -> dict[str, jax.Array]:
        """The table keyed by dotted name (the engine's ``parameters`` output)."""
        values = [v for g in GROUP_TYPES for v in getattr(self, g)]
        values += [getattr(self, f"{prefix}_{field}")[i] for prefix, names, fields in _named(run_names, provider_names)
                   for i in range(len(names)) for field in fields]
        return dict(zip(self.to_flat_names(run_names, provider_names), values, strict=True))


def _named(run_names: tuple[str, ...], provider_names: tuple[str, ...]):
    """The named prior families: ``(prefix, names, fields)`` for runs and catalogue providers."""
    return (("run", run_names, RUN_PRIORS), ("provider", provider_names, PROVIDER_PRIORS))


GROUP_TYPES: dict[str, type] = dict(workload=WorkloadParams, market=MarketParams, spot=SpotParams,
                                    owned=OwnedParams, operations=OperationsParams, storage=StorageParams,
                                    onprem=HostingParams, colo=HostingParams,
                                    academic=AcademicParams, marketplace=MarketplaceParams,
                                    notebook=NotebookParams, reserved=ReservedParams,
                                    regime=RegimeParams)
