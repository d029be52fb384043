"""Combine a Hydra multirun's jobs into ``sweep.nc``, plots and ``sweep_summary.md`` in the sweep directory.

:class:`AggregateSweep` is registered under ``hydra.callbacks`` in ``conf/config.yaml`` and runs when a multirun
ends; ``python -m simulator combine SWEEP_DIR`` does the same again later (after a login node was lost, say).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import xarray as xr
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from simulator.report.html import write_sweep_report
from simulator.results.io import write_atomic
from simulator.sweeps.breakeven import sweep_summary_markdown
from simulator.sweeps.multirun import SWEEP_FILE, Job, combine, read_jobs, swept_keys
from simulator.sweeps.plots import save_sweep_plots

log = logging.getLogger("simulator")
USAGE = "usage: python -m simulator combine SWEEP_DIR"


def aggregate(
    sweep_dir: Path, keys: list[str] | None = None, *, confidence: float = 0.95, plots: bool = True
) -> tuple[xr.Dataset, list[Job]]:
    """Combine the jobs under ``sweep_dir`` into ``sweep.nc``, plots, ``sweep_summary.md`` and
    ``sweep_report.html``; returns both."""

    sweep_dir = Path(sweep_dir)
    multirun = OmegaConf.load(sweep_dir / "multirun.yaml") if (sweep_dir / "multirun.yaml").is_file() else None
    if keys is None and multirun is not None:
        keys = swept_keys(multirun) or None
    jobs = read_jobs(sweep_dir)
    if not jobs:
        raise ValueError(f"no job directories under {sweep_dir}")
    failed = [j for j in jobs if j.summary is None]
    strategy, trials = _sweep_settings(jobs[0])
    ds = combine(jobs, keys, strategy, trials=trials)
    plots = plots and "trial" not in ds.dims  # the decision map and break-even curves need a grid
    ds.attrs.update(
        sweep_dir=str(sweep_dir),
        confidence=confidence,
        failed_jobs="\n".join(f"#{j.num} ({j.directory.name}): {j.error}" for j in failed) or "none",
    )
    write_atomic(ds, sweep_dir / SWEEP_FILE)
    written = (
        save_sweep_plots(ds, sweep_dir, confidence=confidence) if plots and len(failed) < len(jobs) else []
    )
    text = sweep_summary_markdown(ds, failed=ds.attrs["failed_jobs"], plots=[p.name for p in written])
    (sweep_dir / "sweep_summary.md").write_text(text)
    write_sweep_report(text, sweep_dir, title=f"gpu-risk sweep: {sweep_dir.name}")
    return ds, jobs


def _sweep_settings(job: Job) -> tuple[str | None, bool]:
    """From a job's ``.hydra`` files: ``decision.optimise_strategy`` and whether an optimising sweeper (Optuna) ran
    the trials (laid out along ``trial``, not as a grid)."""
    hydra_dir = job.directory / ".hydra"
    config = OmegaConf.load(hydra_dir / "config.yaml") if (hydra_dir / "config.yaml").is_file() else None
    settings = OmegaConf.load(hydra_dir / "hydra.yaml") if (hydra_dir / "hydra.yaml").is_file() else None
    strategy = OmegaConf.select(config, "decision.optimise_strategy", default=None) if config else None
    sweeper = str(OmegaConf.select(settings, "hydra.sweeper._target_", default="")) if settings else ""
    return strategy, "optuna" in sweeper.lower()


class AggregateSweep(Callback):
    """Hydra callback: at the end of a multirun, :func:`aggregate` the sweep directory.

    Registered in ``conf/config.yaml`` under ``hydra.callbacks``. Failed jobs are listed and left out; if any failed,
    the multirun exits with status 2 after writing the combined results of the others.
    """

    def __init__(self, plots: bool = True, confidence: float = 0.95) -> None:
        self.plots, self.confidence = plots, confidence

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        ds, jobs = aggregate(
            sweep_dir, swept_keys(config) or None, confidence=self.confidence, plots=self.plots
        )
        text = (sweep_dir / "sweep_summary.md").read_text()
        log.info("sweep of %d jobs combined into %s\n%s", len(jobs), sweep_dir / SWEEP_FILE, text)
        failed = [j for j in jobs if j.summary is None]
        if failed:
            print(
                f"{len(failed)} of {len(jobs)} jobs failed (left out of {SWEEP_FILE}): "
                + "; ".join(f"#{j.num}: {j.error}" for j in failed),
                file=sys.stderr,
            )
            sys.exit(2)



def main(argv: list[str]) -> None:
    """``python -m simulator combine SWEEP_DIR``: combine (again) a sweep's finished jobs."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("MPLBACKEND", "Agg")  # PNGs only; the user's own choice wins
    if len(argv) != 1:
        sys.exit(USAGE)
    aggregate(Path(argv[0]))
    print((Path(argv[0]) / "sweep_summary.md").read_text())
