"""xarray results: assemble the Dataset, attach units and descriptions, provenance, and write it atomically.

Computation stays in :mod:`simulator.engine`; this module only labels. Every variable carries ``units``,
``long_name`` and ``description``; the Dataset carries the seed, the resolved config, versions, device and time.
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
from simulator.engine.strategies import CATEGORY_DESCRIPTIONS, COST_CATEGORIES

VARIABLES = {
    # name: (dims, units, long_name, description)
    "cost": (
        ("strategy", "path"),
        "USD",
        "present value of total cost",
        "Sum over categories of costs discounted to t=0 at engine.discount_rate_per_year, residual value credited",
    ),
    "delay": (
        ("strategy", "path"),
        "days",
        "backlog-weighted delay of steady demand",
        "sum_t backlog_t * dt / sum_t arrivals_t: mean wait of a GPU-hour of steady demand (Little's law)",
    ),
    "cost_by_category": (
        ("strategy", "path", "category"),
        "USD",
        "present value of cost by category",
        "Discounted cost per category; see the category coordinate's descriptions",
    ),
    "cash_by_category": (
        ("strategy", "path", "category"),
        "USD",
        "undiscounted cash by category",
        "Cash spent per category over the horizon, not discounted",
    ),
    "run_finish_day": (
        ("strategy", "path", "run"),
        "days",
        "training run finish time",
        "Day the run's last GPU-hour of useful work completed; unfinished runs are extrapolated "
        "past the horizon at full width (see run_completed)",
    ),
    "run_lateness_days": (
        ("strategy", "path", "run"),
        "days",
        "training run lateness",
        "max(0, run_finish_day - deadline_day)",
    ),
    "run_completed": (
        ("strategy", "path", "run"),
        "1",
        "run finished within the horizon",
        "1 if the run completed before the horizon, else 0",
    ),
    "final_backlog": (
        ("strategy", "path"),
        "GPU-hours",
        "backlog at the horizon",
        "Steady demand still waiting at the end of the horizon",
    ),
    "owned_failures": (
        ("strategy", "path"),
        "1",
        "owned GPU failures",
        "Number of owned-GPU failures over the horizon (all causes that stop a job)",
    ),
    "spot_interruptions": (
        ("strategy", "path"),
        "1",
        "spot interruptions",
        "Number of spot reclaims that hit running work (steady demand and training runs)",
    ),
    "owned_gpus_installed": (("strategy", "path"), "GPUs", "owned GPUs installed at the horizon",
                             "Owned GPUs delivered by the end of the horizon (initial order and expansions)"),
    "cumulative_cost": (
        ("strategy", "trajectory_path", "month"),
        "USD",
        "cumulative present value of cost",
        "Discounted cost accrued by the end of each month (residual value not yet credited)",
    ),
    "backlog": (
        ("strategy", "trajectory_path", "month"),
        "GPU-hours",
        "backlog at month end",
        "Steady demand waiting at the end of each month",
    ),
    "owned_gpus_up": (
        ("strategy", "trajectory_path", "month"),
        "GPUs",
        "owned GPUs up at month end",
        "Installed owned GPUs minus those down for repair",
    ),
    "price_index": (
        ("trajectory_path", "month"),
        "1",
        "GPU market price index",
        "Shared price index M_t (M_0 = 1); prices are base * M_t ** loading",
    ),
    "demand_rate": (
        ("trajectory_path", "month"),
        "GPU-hours/day",
        "steady demand rate",
        "Steady GPU-hour demand per day at the end of each month",
    ),
}


def _versions() -> dict[str, str]:
    out = {}
    for package in ("gpu-risk", "jax", "jaxlib", "numpy", "xarray", "hydra-core", "seaborn"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def check_finite(sim: Simulation) -> None:
    """Raise :class:`~simulator.config.errors.SimulationOverflow` (one line) if any output or sampled prior is NaN or infinite.

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
    if name in VARIABLES and VARIABLES[name][0][0] == "strategy":
        per_strategy = (~np.isfinite(values)).reshape(values.shape[0], values.shape[1], -1).any(axis=(0, 2))
        where = f" for strategy {', '.join(np.asarray(sim.strategy_names)[per_strategy])}"
    raise SimulationOverflow(
        f"the simulation overflowed: {', '.join(bad)} NaN or inf{where} ({int((~np.isfinite(values)).sum())} "
        f"values of {name}); a prior or setting is too large for the engine's numbers: narrow it "
        "(or set engine.dtype=float64)"
    )


def build_dataset(
    sim: Simulation, *, seed: int, resolved_config: str, scenario: str, run_deadlines: list[float]
) -> xr.Dataset:
    """Label a :class:`Simulation` as an xarray Dataset with metadata and provenance.

    Raises :class:`~simulator.config.errors.SimulationOverflow` if an output is NaN or inf (:func:`check_finite`).
    """
    check_finite(sim)
    out = sim.outputs
    data_vars = {}
    for name, (dims, units, long_name, description) in VARIABLES.items():
        values = out[name]
        # engine layout is (path, strategy, ...) or (path, ...); move strategy first where present
        if dims[0] == "strategy":
            values = np.moveaxis(values, 1, 0)
        if name == "run_completed":
            values = values.astype(np.int8)
        data_vars[name] = (dims, values, dict(units=units, long_name=long_name, description=description))
    for name, values in sim.parameters.items():
        data_vars[f"param_{name.replace('.', '__')}"] = (
            ("path",),
            values,
            dict(
                units="see config",
                long_name=f"sampled prior {name}",
                description=f"Value of the prior {name} drawn for each path",
            ),
        )
    months = np.arange(1, sim.grid.months + 1)
    coords = {
        "strategy": sim.strategy_names,
        "path": np.arange(out["cost"].shape[0]),
        "trajectory_path": np.arange(out["cumulative_cost"].shape[0]),
        "month": ("month", months, dict(units="months", long_name="end of month")),
        "run": sim.run_names,
        "category": (
            "category",
            list(COST_CATEGORIES),
            dict(description="; ".join(f"{k}: {v}" for k, v in CATEGORY_DESCRIPTIONS.items())),
        ),
        "run_deadline_day": ("run", np.asarray(run_deadlines, float), dict(units="days")),
    }
    kept = int(out["cost"].shape[0])
    if sim.statistics is not None:
        streamed, stream_coords = sim.statistics.data_vars()
        data_vars |= streamed
        coords |= {name: (name, values, dict(units="USD" if name == "cost_bucket" else "days",
                                             long_name=f"representative value of the {name.replace('_', ' ')}"))
                   for name, values in stream_coords.items()}
        coords["versus"] = ("versus", sim.strategy_names, dict(long_name="the other strategy of a pair"))
    ds = xr.Dataset(data_vars, coords=coords)
    versions = _versions()
    ds.attrs.update(
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
        **{f"version_{k}": v for k, v in versions.items()},
    )
    if sim.statistics is not None:  # the budgets the streamed probabilities were counted against
        ds.attrs.update({f"stream_{name}": value for name, value in (
            ("budget_usd", sim.statistics.budget), ("capex_budget_usd", sim.statistics.capex_budget))
            if np.isfinite(value)})
    return ds
