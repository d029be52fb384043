"""Sampled parameters as typed pytrees: one NamedTuple per prior group, mirroring :mod:`simulator.config.priors`.

Every path draws every prior once (:func:`simulator.engine.priors.sample_parameters`, a table keyed by dotted name);
:meth:`Params.from_flat` turns that table into ``params.market.on_demand_usd_per_gpu_hour`` and so on, (N,) each.
The group types are built from the schema's dataclasses, so the fields cannot drift from the priors a config has: a
misspelt or missing field fails when the tree is built (``TypeError``), and a misspelt read fails at trace time
(``AttributeError``), never as a silent default.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax

from simulator.config import priors as schema
from simulator.config.schema import RUN_PRIORS


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
    regime: RegimeParams
    run_gpu_hours: tuple[jax.Array, ...]  # size of each named run, in ``EngineInputs.run_names`` order
    run_late_usd_per_day: tuple[jax.Array, ...]  # cost of a day of lateness of each named run, same order

    @classmethod
    def from_flat(cls, flat: dict[str, jax.Array], run_names: tuple[str, ...]) -> Params:
        """From a table keyed ``group.field`` and ``runs.NAME.FIELD`` (every key used exactly once)."""
        groups = {group: node(**{k.removeprefix(f"{group}."): v for k, v in flat.items() if k.startswith(f"{group}.")})
                  for group, node in GROUP_TYPES.items()}
        runs = {field: tuple(flat[f"runs.{name}.{field}"] for name in run_names) for field in RUN_PRIORS}
        used = sum(len(g) for g in groups.values()) + sum(len(r) for r in runs.values())
        if used != len(flat):
            raise TypeError(f"parameters not in any group: {sorted(set(flat) - set(cls.to_flat_names(run_names)))}")
        return cls(**groups, **{f"run_{field}": values for field, values in runs.items()})

    @staticmethod
    def to_flat_names(run_names: tuple[str, ...]) -> list[str]:
        """Dotted names of every parameter, in prior-table order."""
        names = [f"{g}.{f}" for g, node in GROUP_TYPES.items() for f in node._fields]
        return names + [f"runs.{name}.{field}" for name in run_names for field in RUN_PRIORS]

    def to_flat(self, run_names: tuple[str, ...]) -> dict[str, jax.Array]:
        """The table keyed by dotted name (the engine's ``parameters`` output)."""
        values = [v for g in GROUP_TYPES for v in getattr(self, g)]
        values += [getattr(self, f"run_{field}")[r] for r in range(len(run_names)) for field in RUN_PRIORS]
        return dict(zip(self.to_flat_names(run_names), values, strict=True))


GROUP_TYPES: dict[str, type] = dict(workload=WorkloadParams, market=MarketParams, spot=SpotParams,
                                    owned=OwnedParams, operations=OperationsParams, storage=StorageParams,
                                    onprem=HostingParams, colo=HostingParams,
                                    academic=AcademicParams, marketplace=MarketplaceParams,
                                    notebook=NotebookParams, regime=RegimeParams)
