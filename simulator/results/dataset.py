"""xarray results: assemble the Dataset from the engine's outputs, with units, descriptions and provenance.

Computation stays in :mod:`simulator.engine`; this module only labels, from the table in
:mod:`simulator.results.variables`. Every variable carries ``units``, ``long_name`` and ``description``; the Dataset
carries the seed, the resolved config, versions, device and time. Writing is :func:`simulator.results.io.write_atomic`.
"""

from __future__ import annotations

import datetime as _dt
import platform
from importlib import metadata

import jax
import numpy as np
import xarray as xr

from simulator.config.errors import SimulationOverflow
from simulator.engine.host import Simulation
from simulator.engine.kinds import KINDS
from simulator.engine.strategies import CATEGORY_DESCRIPTIONS, COST_CATEGORIES, SHORTFALL_CATEGORIES
from simulator.results.variables import VARIABLES, parameter_variable


def _versions() -> dict[str, str]:
    out = {}
    for package in ("gpu-risk", "jax", "jaxlib", "numpy", "xarray", "hydra-core", "seaborn"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def check_finite(sim: Simulation) -> None:
    """Raise :class:`~simulator.config.errors.SimulationOverflow` (one line) if an output or a draw is NaN or inf.

    The processes guard float32 overflow at its sources (price index, demand, resale weights), so this only fires
    for magnitudes no model state can carry (e.g. a price of 1e37 USD per GPU-hour): the run stops with a clear
    error instead of writing NaN or inf into ``results.nc``.
    """
    bad = {name: values for name, values in {**sim.outputs, **sim.parameters}.items()
           if np.issubdtype(np.asarray(values).dtype, np.floating) and not np.isfinite(values).all()}
    if not bad:
        return
    name, values = next(iter(bad.items()))
    where = ""
    if name in VARIABLES and VARIABLES[name].dims[0] == "strategy":
        per_strategy = (~np.isfinite(values)).reshape(values.shape[0], values.shape[1], -1).any(axis=(0, 2))
        where = f" for strategy {', '.join(np.asarray(sim.strategy_names)[per_strategy])}"
    raise SimulationOverflow(
        f"the simulation overflowed: {', '.join(bad)} NaN or inf{where} ({int((~np.isfinite(values)).sum())} "
        f"values of {name}); a prior or setting is too large for the engine's numbers: narrow it "
        "(or set engine.dtype=float64)"
    )


def build_dataset(
    sim: Simulation, *, seed: int, resolved_config: str = "", scenario: str = "",
    run_deadlines: list[float] | None = None,
) -> xr.Dataset:
    """Label a :class:`Simulation` as an xarray Dataset with metadata and provenance.

    ``resolved_config`` (the run's YAML) and ``scenario`` go into the attributes; ``run_deadlines`` defaults to the
    simulation's own (``sim.run_deadline_days``).

    Every variable is labelled from :data:`simulator.results.variables.VARIABLES`; streamed statistics (long runs)
    come labelled from :meth:`~simulator.stats.collector.RunStatistics.data_vars`. Raises
    :class:`~simulator.config.errors.SimulationOverflow` if an output is NaN or inf (:func:`check_finite`).
    """
    check_finite(sim)
    deadlines = list(sim.run_deadline_days) if run_deadlines is None else run_deadlines
    data_vars, coords = _outputs(sim), _coordinates(sim, deadlines)
    if sim.statistics is not None:
        streamed, stream_coords = sim.statistics.data_vars()
        data_vars |= streamed
        coords |= {name: (name, values, dict(units="USD" if name == "cost_bucket" else "days",
                                             long_name=f"representative value of the {name.replace('_', ' ')}"))
                   for name, values in stream_coords.items()}
        coords["versus"] = ("versus", sim.strategy_names, dict(long_name="the other strategy of a pair"))
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(_provenance(sim, seed=seed, resolved_config=resolved_config, scenario=scenario))
    return ds


def _outputs(sim: Simulation) -> dict[str, tuple]:
    """The engine's outputs and the sampled priors as ``{name: (dims, values, attrs)}``, strategy axis first."""
    unlabelled = sorted(set(sim.outputs) - set(VARIABLES))
    if unlabelled:
        raise KeyError(f"engine outputs without a row in simulator.results.variables.VARIABLES: {unlabelled}")
    data_vars = {}
    for name, variable in VARIABLES.items():
        values = sim.outputs[name]
        if variable.dims[0] == "strategy":  # engine layout is (path, strategy, ...) or (path, ...)
            values = np.moveaxis(values, 1, 0)
        if name == "run_completed":
            values = values.astype(np.int8)
        data_vars[name] = (variable.dims, values, variable.attrs)
    for prior, values in sim.parameters.items():
        name, variable = parameter_variable(prior)
        data_vars[name] = (variable.dims, values, variable.attrs)
    return data_vars


def _coordinates(sim: Simulation, run_deadlines: list[float]) -> dict:
    out = sim.outputs
    return {
        "strategy": sim.strategy_names,
        "path": np.arange(out["cost"].shape[0]),
        "trajectory_path": np.arange(out["cumulative_cost"].shape[0]),
        "month": ("month", np.arange(1, sim.grid.months + 1), dict(units="months", long_name="end of month")),
        "run": sim.run_names,
        "category": (
            "category",
            list(COST_CATEGORIES),
            dict(description="; ".join(f"{k}: {v}" for k, v in CATEGORY_DESCRIPTIONS.items())),
        ),
        "category_group": ("category", ["shortfall" if c in SHORTFALL_CATEGORIES else "spend" for c in COST_CATEGORIES],
                           dict(long_name="spend or shortfall", description="spend: money paid; shortfall: the price "
                                "of undone or late work (delay, unserved, late_runs); cost = spend + shortfall")),
        "run_deadline_day": ("run", np.asarray(run_deadlines, float), dict(units="days")),
        "pool_kind": ("pool_kind", list(KINDS), dict(long_name="pool kind")),
    }


def _provenance(sim: Simulation, *, seed: int, resolved_config: str, scenario: str) -> dict:
    """The Dataset's attributes: what was run (seed, config), with what (versions, device), when and how long."""
    kept = int(sim.outputs["cost"].shape[0])
    attrs = dict(
        title=f"gpu-risk Monte Carlo results, scenario {scenario}",
        scenario=scenario,
        seed=seed,
        paths=kept if sim.statistics is None else sim.statistics.paths,
        path_level_paths=kept,
        horizon_months=sim.grid.months,
        step_days=sim.grid.dt_days,
        resolved_config=resolved_config,
        created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        device=", ".join(str(d) for d in jax.devices()),
        platform=platform.platform(),
        python=platform.python_version(),
        simulate_seconds=sim.seconds,
        compile_seconds=sim.compile_seconds,
        **{f"version_{k}": v for k, v in _versions().items()},
    )
    if sim.scrambles:  # engine.sampling=qmc: kept path i is a point of scramble i mod qmc_scrambles
        attrs.update(sampling="qmc", qmc_scrambles=int(sim.scrambles))
    if sim.statistics is not None:  # the budgets the streamed probabilities were counted against
        attrs.update({f"stream_{name}": value for name, value in (
            ("budget_usd", sim.statistics.budget), ("capex_budget_usd", sim.statistics.capex_budget),
            ("funding_usd", sim.statistics.funding))
            if np.isfinite(value)})
    return attrs
