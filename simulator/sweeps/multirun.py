"""Hydra multirun aggregation: the jobs of a sweep combined into one Dataset, ``sweep.nc``, in the sweep directory.

``python -m simulator -m scenario=hybrid KEY=a,b,c OTHER=x,y`` (or a scenario that declares
``hydra.sweeper.params``) runs one job per grid cell; :class:`AggregateSweep`, registered under ``hydra.callbacks`` in
``conf/config.yaml``, runs once when the sweep ends. It reads each job's ``.hydra/overrides.yaml`` (the values of the
swept keys) and ``summary.csv`` (per-strategy statistics written by :func:`simulator.decision.analyse.write_tables`), never
the path-level data of ``results.nc``, and builds a Dataset with one dimension per swept key (numeric coordinates where
every value is a number) plus ``strategy``. Each grid cell also gets the verdict of its job: the best admissible
strategy, the runner-up and the margin between them with its standard error (pathwise, from ``recommendation.csv``,
written by :func:`simulator.decision.analyse.write_tables`, when the job wrote it; otherwise the conservative unpaired ``sqrt(SE_a**2 + SE_b**2)``). A job that failed (bad input:
it wrote ``error.txt`` instead of results) is reported and left out; its cell holds NaN. Then
:mod:`simulator.sweeps.plots` draws the decision map and break-even curves and :mod:`simulator.sweeps.breakeven` writes
``sweep_summary.md``.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("simulator")
SWEEP_FILE = "sweep.nc"
TEXT_COLUMNS = ["excluded_because", "failed", "borderline", "closed_by_data_policy"]
UNITS = {"cost": "USD", "delay": "days", "p": "1", "objective": "USD", "expected": "USD", "rank": "1"}


@dataclass
class Job:
    """One job of the sweep: its number, directory, swept values and statistics (or why it has none)."""

    num: int
    directory: Path
    values: dict[str, Any]
    summary: pd.DataFrame | None
    recommendation: pd.Series | None
    error: str | None


def _parse(lines: list[str]) -> list:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides([str(line) for line in lines])


def _key(override) -> str:
    return override.get_key_element().lstrip("+~")


def swept_keys(multirun: DictConfig) -> list[str]:
    """Keys swept by a multirun: sweep overrides on the command line and the keys of ``hydra.sweeper.params``."""
    keys = [_key(o) for o in _parse(list(multirun.hydra.overrides.task)) if o.is_sweep_override()]
    params = OmegaConf.select(multirun, "hydra.sweeper.params", default=None) or {}
    keys += [_key(o) for o in _parse([f"{k}={v}" for k, v in params.items()])]
    return list(dict.fromkeys(keys))


def read_jobs(sweep_dir: Path) -> list[Job]:
    """Every job directory under ``sweep_dir`` (found by its ``.hydra/overrides.yaml``), in job order."""
    jobs = []
    for overrides in Path(sweep_dir).glob("**/.hydra/overrides.yaml"):
        directory = overrides.parent.parent
        num = OmegaConf.select(OmegaConf.load(overrides.parent / "hydra.yaml"), "hydra.job.num", default=-1)
        values = {_key(o): o.value() for o in _parse(list(OmegaConf.load(overrides)))}
        summary = recommendation = error = None
        if (directory / "summary.csv").is_file():
            summary = pd.read_csv(directory / "summary.csv", index_col="strategy")
            text = summary.columns.intersection(TEXT_COLUMNS)
            summary[text] = summary[text].astype(object).fillna("").astype(str)
            if (directory / "recommendation.csv").is_file():
                recommendation = pd.read_csv(directory / "recommendation.csv").iloc[0]
        elif (directory / "error.txt").is_file():
            error = (directory / "error.txt").read_text().strip()
        else:
            error = "no summary.csv (the job did not finish)"
        jobs.append(Job(int(num), directory, values, summary, recommendation, error))
    return sorted(jobs, key=lambda job: job.num)


def coordinate(values: list) -> np.ndarray:
    """Coordinate values of a swept key: float (int if all are) when every value is a number, else strings."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=int if all(isinstance(v, int) for v in values) else float)
    return np.asarray([str(v) for v in values], dtype=object)


def cell_verdict(summary: pd.DataFrame, recommendation: pd.Series | None) -> dict[str, Any]:
    """Best admissible strategy, runner-up, margin ``J(runner-up) - J(best)`` and its SE for one job.

    Notes
    -----
    Without the job's pathwise margin SE the unpaired bound ``SE = sqrt(SE_best**2 + SE_runner**2)`` is used; common
    random numbers make the paired SE smaller, so the unpaired one calls more cells "within noise", never fewer.
    """
    ranked = summary[summary["admissible"].astype(bool)].sort_values("rank")
    best = ranked.index[0] if len(ranked) else ""
    runner = ranked.index[1] if len(ranked) > 1 else ""
    margin = margin_se = np.nan
    paired = False
    if recommendation is not None and str(recommendation.get("best", "")) == best and runner:
        margin, margin_se, paired = float(recommendation["margin"]), float(recommendation["margin_se"]), True
    elif runner:
        margin = float(ranked.loc[runner, "objective"] - ranked.loc[best, "objective"])
        margin_se = float(np.hypot(ranked.loc[runner, "objective_se"], ranked.loc[best, "objective_se"]))
    return dict(best=best, runner_up=runner, margin=margin, margin_se=margin_se, margin_paired=paired)


def job_value(summary: pd.DataFrame, strategy: str | None = None) -> float:
    """A job's value for a minimising sweeper (Optuna): the best admissible strategy's objective (NaN when none is
    admissible); with ``strategy`` (``decision.optimise_strategy``) that strategy's objective, the lowest over its
    admissible variants when an in-engine sweep expanded it, ``+inf`` when it fails a constraint (the penalty that
    keeps an infeasible trial from being chosen)."""
    admissible = summary[summary["admissible"].astype(bool)]
    if strategy is None:
        return float(admissible["objective"].min()) if len(admissible) else float("nan")
    mine = admissible[[s == strategy or str(s).startswith(f"{strategy}@") for s in admissible.index]]
    return float(mine["objective"].min()) if len(mine) else float("inf")


def is_grid(jobs: list[Job], keys: list[str]) -> bool:
    """Whether the jobs' swept values form a grid (every combination at most once, most of them present); trials of
    an optimising sweeper (Optuna) do not, and are laid out along ``trial`` instead."""
    distinct = {tuple(repr(j.values[k]) for k in keys) for j in jobs}
    size = int(np.prod([len({repr(j.values[k]) for j in jobs}) for k in keys]))
    return len(keys) == 1 or size <= 2 * len(distinct)


def combine(jobs: list[Job], keys: list[str] | None = None, optimise_strategy: str | None = None, *,
            trials: bool = False) -> xr.Dataset:
    """One Dataset of the jobs' statistics, dims ``(*keys, strategy)`` for a grid, ``(trial, strategy)`` with the
    swept keys as coordinates along ``trial`` for an optimising sweeper's trials (``trials``) or values that form no
    grid (:func:`is_grid`); cells of failed jobs hold NaN. ``value``: each job's :func:`job_value`."""
    keys = keys or [k for k in jobs[0].values if len({repr(j.values.get(k)) for j in jobs}) > 1]
    keys = [k for k in keys if all(k in j.values for j in jobs)]
    if not keys:
        raise ValueError("no swept key varies across the jobs")
    coords = {k: coordinate([j.values[k] for j in jobs]) for k in keys}
    layout = keys if is_grid(jobs, keys) and not trials else ["trial"]
    cells, rows = [], []
    for i, job in enumerate(jobs):
        at = {k: coords[k][i] for k in keys} if layout == keys else {"trial": job.num}
        cell = dict(at, job=job.num, completed=job.summary is not None, error=job.error or "")
        cell |= {k: coords[k][i] for k in keys}
        if job.summary is not None:
            cell.update(cell_verdict(job.summary, job.recommendation))
            cell["value"] = job_value(job.summary, optimise_strategy)
            rows += [dict(at, strategy=s, **row) for s, row in job.summary.to_dict("index").items()]
        cells.append(cell)
    cell_frame = pd.DataFrame(cells)
    if cell_frame.duplicated(layout).any():
        log.warning("sweep: several jobs share the same swept values; the last one is kept")
        cell_frame = cell_frame.drop_duplicates(layout, keep="last")
    ds = xr.Dataset.from_dataframe(cell_frame.set_index(layout))
    if layout != keys:
        ds = ds.set_coords(keys)
    if rows:
        strategies = list(dict.fromkeys(r["strategy"] for r in rows))
        frame = (
            pd.DataFrame(rows)
            .drop_duplicates(layout + ["strategy"], keep="last")
            .set_index(layout + ["strategy"])
        )
        frame["admissible"] = frame["admissible"].astype(float)
        stats = xr.Dataset.from_dataframe(frame).reindex(strategy=strategies)
        ds = xr.merge([ds, stats], join="outer")
        ds["admissible"] = ds["admissible"].fillna(0.0).astype(bool)
    ds = ds.reindex(
        {k: list(dict.fromkeys(coords[k])) for k in keys if k in layout and coords[k].dtype == object}
    )  # job order
    return _label(_clean(ds, layout), keys)


def _clean(ds: xr.Dataset, keys: list[str]) -> xr.Dataset:
    """Fill missing cells: job -1, completed False, strings ''; object numbers to float."""
    ds["job"] = ds["job"].fillna(-1).astype(int)
    ds["completed"] = ds["completed"].fillna(False).astype(bool)
    for name, var in ds.data_vars.items():
        if var.dtype == object:
            numeric = pd.to_numeric(pd.Series(var.values.ravel()), errors="coerce")
            if numeric.notna().sum() == pd.Series(var.values.ravel()).notna().sum() and name != "error":
                ds[name] = var.copy(data=numeric.to_numpy().reshape(var.shape))
            else:
                ds[name] = var.copy(
                    data=np.where(pd.isna(var.values), "", var.values.astype(str)).astype(object)
                )
    if "margin_paired" in ds:
        ds["margin_paired"] = ds["margin_paired"].fillna(0.0).astype(bool)
    return ds.transpose(*keys, ...)


def _label(ds: xr.Dataset, keys: list[str]) -> xr.Dataset:
    for name, var in ds.data_vars.items():
        stem = name.split("_")[0]
        var.attrs.setdefault("units", "1" if name.startswith("p_") else UNITS.get(stem, "1"))
        var.attrs.setdefault("long_name", name.replace("_", " "))
    if "margin" in ds:
        ds["margin"].attrs.update(
            units="USD", description="objective of the runner-up minus that of the best"
        )
        ds["margin_se"].attrs.update(
            units="USD", description="SE of margin (pathwise if margin_paired, else unpaired)"
        )
    if "value" in ds:
        ds["value"].attrs.update(units="USD", description="the job's value for a minimising sweeper (job_value)")
    ds["job"].attrs.update(units="1", description="Hydra job number of the cell (-1: none)")
    for k in keys:
        ds[k].attrs.update(long_name=k, description="swept override value")
    ds.attrs.update(
        created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        swept_keys=",".join(keys),
        description="Per-job statistics of a Hydra multirun (each job's summary.csv), swept values as coordinates",
    )
    return ds
