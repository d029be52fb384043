"""One run of the command line: validate (one-line errors, nothing written), simulate, label, analyse, write.

The only layer that knows Hydra's runtime, the run directory and exit codes.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from simulator.config.errors import ConfigError, SimulationOverflow, error_line
from simulator.config.load import CONF_DIR, load_config, to_validated
from simulator.config.overrides import check_overrides
from simulator.config.run_dirs import check_run_dirs, clear_overwritten
from simulator.config.safety import check_command

from . import distributed
from ._interrupts import ReraiseSwallowedInterrupts
from .checkpoint import checkpointed
from .pipeline import analyse_and_write, label_simulation, simulate_config

log = logging.getLogger("simulator")


def _prevalidate(argv: list[str]) -> None:
    """Fail fast, before Hydra creates any run directory: one line on stderr and exit code 2."""
    overrides = [arg for arg in argv if not arg.startswith("-") and "=" in arg]
    flags = [arg for arg in argv if arg.startswith("-")]
    try:  # group choices name files and the run directory: checked even for sweeps (-m)
        check_overrides(overrides)
        check_run_dirs(overrides)  # an explicit directory that holds a run: refused unless overwrite=true
        if flags and not {"--config-dir", "-cd", "--config-name", "-cn"} & set(flags):  # rerun checks its own
            check_command(overrides, CONF_DIR, multirun=bool({"-m", "--multirun"} & set(flags)))
    except ConfigError as exc:  # a scenario that is not only data is refused before Hydra configures anything
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)
    if flags:  # --help, --cfg, -m ...: Hydra handles these itself
        return
    try:
        load_config(argv, warn=False)  # rules of simulator.config.safety included; the job logs the warnings
    except Exception as exc:  # any composition or validation failure is a user error here
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)
    clear_overwritten(overrides)  # overwrite=true: the old results.nc goes before the new run writes anything


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def run_job(cfg: DictConfig) -> float:
    """Run one configured simulation and write its outputs into Hydra's run directory.

    Returns
    -------
    float
        The recommended strategy's objective: ``decision.objective`` (mean, quantile or CVaR at ``decision.level``)
        of its present-value cost in USD, over all paths (streamed or not). It is the job's value for a Hydra
        sweeper that optimises (Optuna, say): the cost of the best admissible choice at these settings. NaN when no
        strategy meets every constraint, and when the job fails (a multirun job; a single run exits instead).
    """
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    try:
        config = to_validated(cfg, overrides=list(HydraConfig.get().overrides.task))  # warnings go to the log
    except ConfigError as exc:
        return _job_error(exc)
    runtime = HydraConfig.get().runtime
    out_dir, scenario = Path(runtime.output_dir), runtime.choices.get("scenario", config.scenario)
    resolved = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    if config.engine.shards > 1:  # jobs of hydra/launcher, then a merge (simulator/app/shards.py)
        from .merge import run_sharded

        _, analysis = run_sharded(config, out_dir, scenario=scenario, resolved=resolved)
        return recommended_objective(analysis, config.decision.optimise_strategy)
    try:
        with checkpointed(config, out_dir, resolved) as control:  # streamed runs: checkpoints, SIGTERM/SIGINT
            sim = simulate_config(config, scenario, control)
        ds = label_simulation(sim, config, scenario=scenario, resolved=resolved)
    except (SimulationOverflow, ConfigError) as exc:  # NaN/inf outputs, a setting this machine cannot run: one line
        return _job_error(exc)
    analysis = analyse_and_write(ds, config, out_dir, scenario=scenario, resolved=resolved, seconds=sim.seconds)
    return recommended_objective(analysis, config.decision.optimise_strategy)


def recommended_objective(analysis, strategy: str | None = None) -> float:
    """The job's value for a sweeper (:func:`simulator.sweeps.multirun.job_value` of the metrics table): the
    recommended strategy's objective (NaN when none is admissible), or, with ``decision.optimise_strategy``, that
    strategy's objective, the lowest over its admissible variants when an in-engine sweep expanded it; ``+inf`` when
    it (or every variant) fails a constraint, so a minimising sweeper (Optuna) never picks an infeasible trial."""
    from simulator.sweeps.multirun import job_value

    if strategy is None:
        best = analysis.recommendation.best
        return float("nan") if best is None else float(analysis.metrics.loc[best, "objective"])
    return job_value(analysis.metrics, strategy)


def _job_error(exc: Exception) -> float:
    """One line on stderr; a single run exits with status 2. A multirun job writes the line to ``error.txt`` and
    returns NaN instead, so the other jobs run and the sweep's aggregation (simulator.app.combine) reports it."""
    from hydra.types import RunMode

    print(error_line(exc), file=sys.stderr)
    if HydraConfig.get().mode != RunMode.MULTIRUN:
        sys.exit(2)
    (Path(HydraConfig.get().runtime.output_dir) / "error.txt").write_text(error_line(exc) + "\n")
    return float("nan")


def main() -> None:
    """``python -m simulator [key=value ...]``: one run (or a multirun with ``-m``); PNGs only, no windows."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # the user's own choice wins; nothing in the package sets one
    hook = sys.unraisablehook = ReraiseSwallowedInterrupts(sys.unraisablehook)
    try:
        _prevalidate(sys.argv[1:])
        if not distributed.start(sys.argv[1:]):  # process > 0 of a multi-host run: computed its share, wrote nothing
            return
        run_job()
    except KeyboardInterrupt:
        hook.stopped = True
        print("interrupted: results.nc is written only when complete", file=sys.stderr)
        sys.exit(130)
