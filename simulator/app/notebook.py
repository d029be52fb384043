"""``simulator.run(...)``: one run from a notebook or a script, through Hydra's compose API (no Hydra job).

The same steps as the command line (:mod:`simulator.app.pipeline`): compose once, validate and resolve that one
composition, simulate, label, analyse, and, with ``write=True``, write every output into a run directory named as
the command line names it (:func:`run_dir_for`). Nothing global is changed: no matplotlib backend is picked (the
figures are plain ``Figure`` objects) and seaborn's theme is applied inside :func:`matplotlib.rc_context`, the root
logger is not configured, the working directory is not changed. JAX's configuration is changed only where the run
asks for it: ``engine.dtype=float64`` turns on ``jax_enable_x64`` and ``engine.compilation_cache`` sets the
persistent compilation cache directory, as on the command line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

RUNS_ROOT = Path("outputs")  # relative to the current directory, as the command line's ``hydra.run.dir``


def run_dir_for(scenario: str, now: dt.datetime | None = None, root: Path = RUNS_ROOT) -> Path:
    """The run directory of a run started ``now``, created: ``outputs/<scenario>/<YYYY-mm-dd_HH-MM-SS>`` (the pattern
    of ``conf/config.yaml``'s ``hydra.run.dir``), made unique as the command line's is
    (:func:`simulator.config.run_dirs.unique_dir`: ``-1``, ``-2``... appended, atomically)."""
    from simulator.config.run_dirs import unique_dir

    return Path(unique_dir(str(root / scenario / (now or dt.datetime.now()).strftime("%Y-%m-%d_%H-%M-%S"))))


@dataclasses.dataclass
class RunResult:
    """What :func:`run` returns: the labelled Dataset, its analysis, and where the outputs went.

    Attributes
    ----------
    dataset : xarray.Dataset
        The run's results (the contents of ``results.nc``).
    analysis : simulator.decision.analyse.Analysis
        Metrics with SEs, the recommendation (``analysis.recommendation``), the comparisons and the sensitivity.
    config : simulator.config.schema.Config
        The validated configuration that ran.
    resolved_config : str
        The resolved YAML of that configuration (``config_resolved.yaml``).
    run_dir : pathlib.Path or None
        The directory written, None when nothing was written (``write=False``).
    """

    dataset: Any
    analysis: Any
    config: Any
    resolved_config: str
    run_dir: Path | None
    scenario: str

    def ranking_lines(self, top: int = 5) -> list[str]:
        """The headline and the first ``top`` rows of the ranking (objective +- SE), as plain lines."""
        rec = self.analysis.recommendation
        lines = [self.analysis.headline]
        for name, row in rec.ranking.head(top).iterrows():
            flag = "" if bool(row["admissible"]) else " (fails a constraint)"
            lines.append(f"{int(row['rank'])}. {name}: {row['objective']:,.0f} +- {row['objective_se']:,.0f} USD"
                         f"{flag}")
        return lines

    def __repr__(self) -> str:
        where = self.run_dir if self.run_dir is not None else "nothing written"
        return "\n".join([f"RunResult(scenario={self.scenario!r}, paths={self.analysis.paths}, run_dir={where})",
                          *("  " + line for line in self.ranking_lines())])

    def _repr_markdown_(self) -> str:
        rec = self.analysis.recommendation
        where = f"`{self.run_dir}`" if self.run_dir is not None else "nothing written"
        rows = ["| rank | strategy | " + rec.objective + " (USD) | SE | admissible |", "|---:|---|---:|---:|:-:|"]
        rows += [f"| {int(r['rank'])} | {name} | {r['objective']:,.0f} | {r['objective_se']:,.0f} | "
                 f"{'yes' if bool(r['admissible']) else 'no'} |" for name, r in rec.ranking.iterrows()]
        return "\n".join([f"**{self.scenario}**: {self.analysis.headline}", "", *rows, "",
                          f"{self.analysis.paths} paths; run directory: {where}"])


def compose_run(scenario: str, overrides: list[str] | tuple[str, ...] = ()):
    """Compose ``conf/config.yaml`` once with ``scenario=<scenario>`` and ``overrides``: the validated config and
    the resolved YAML of the same composition. Raises what :func:`simulator.config.load.load_config` raises."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from simulator.config.errors import ConfigError
    from simulator.config.load import CONF_DIR, _scalar_prior, to_validated
    from simulator.config.overrides import check_overrides

    argv = [f"scenario={scenario}", *overrides]
    check_overrides(argv)
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=argv)
    except Exception as exc:
        scalar = _scalar_prior(exc, argv)
        if scalar:
            raise ConfigError(scalar) from exc
        raise
    config = to_validated(cfg)
    resolved = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    return config, resolved


def run(scenario: str = "hybrid", overrides: list[str] | tuple[str, ...] = (), *, write: bool = False,
        out_dir: str | Path | None = None) -> RunResult:
    """Run one scenario and return its Dataset and analysis; with ``write=True`` also write the run's outputs.

    Parameters
    ----------
    scenario : str
        A file of ``conf/scenario/`` (``hybrid``, ``steady``...).
    overrides : list of str
        Command-line style overrides, ``["engine.paths=2000", "priors.market.drift_per_year.mean=-0.3"]``.
    write : bool
        Write ``results.nc``, ``summary.md``, the tables, the plots and ``config_resolved.yaml`` (as the command
        line does); False writes nothing at all.
    out_dir : str or Path, optional
        The run directory when writing (created; it must not contain a ``results.nc``); default
        ``outputs/<scenario>/<timestamp>`` under the current directory (:func:`run_dir_for`).

    Returns
    -------
    RunResult
    """
    import matplotlib

    from simulator.app.pipeline import label_simulation, simulate_config, write_outputs
    from simulator.app.tornado_rerun import EngineRerun
    from simulator.decision.analyse import analyse

    config, resolved = compose_run(scenario, overrides)
    target = Path(out_dir) if write and out_dir is not None else None
    if target is not None and (target / "results.nc").exists():
        raise FileExistsError(f"out_dir = {target}: it already holds a finished run (results.nc)")
    sim = simulate_config(config, scenario)
    ds = label_simulation(sim, config, scenario=scenario, resolved=resolved)
    with matplotlib.rc_context():  # seaborn's theme (sns.set_theme) stays inside
        analysis = analyse(ds, config, rerun=EngineRerun(config))
        if write:  # the default directory is created only now: a failed run leaves nothing behind
            target = run_dir_for(scenario) if target is None else target
            target.mkdir(parents=True, exist_ok=True)
            write_outputs(ds, analysis, config, target, scenario=scenario, resolved=resolved, seconds=sim.seconds)
    return RunResult(ds, analysis, config, resolved, target, scenario)
