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

from ._interrupts import ReraiseSwallowedInterrupts

log = logging.getLogger("simulator")


def _prevalidate(argv: list[str]) -> None:
    """Fail fast, before Hydra creates any run directory: one line on stderr and exit code 2."""
    try:  # group choices name files and the run directory: checked even for sweeps (-m)
        check_overrides([arg for arg in argv if not arg.startswith("-") and "=" in arg])
    except ConfigError as exc:
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)
    if any(arg.startswith("-") for arg in argv):  # --help, --cfg, -m ...: Hydra handles these itself
        return
    try:
        load_config(argv)
    except Exception as exc:  # any composition or validation failure is a user error here
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)


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
        config = to_validated(cfg)
    except ConfigError as exc:
        return _job_error(exc)
    runtime = HydraConfig.get().runtime
    out_dir, scenario = Path(runtime.output_dir), runtime.choices.get("scenario", config.scenario)
    resolved = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    try:
        ds, seconds = _simulate(config, scenario, resolved)
    except SimulationOverflow as exc:  # NaN or inf outputs: one line, no results written
        return _job_error(exc)
    from simulator.app.tornado_rerun import EngineRerun
    from simulator.decision.analyse import analyse

    analysis = analyse(ds, config, rerun=EngineRerun(config))
    _write_outputs(ds, analysis, config, out_dir, scenario=scenario, resolved=resolved, seconds=seconds)
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


def _simulate(config, scenario: str, resolved: str):
    """Run the engine and label its outputs: ``(Dataset with in-engine sweep variables, seconds simulated)``.

    Raises :class:`~simulator.config.errors.SimulationOverflow` when an output is NaN or inf.
    """
    from simulator.decision.analyse import precision_rule
    from simulator.engine.host import enable_compilation_cache, simulate
    from simulator.results.dataset import build_dataset
    from simulator.sweeps.knobs import sweep_dataset

    if config.engine.compilation_cache:
        enable_compilation_cache()
    log.info("scenario %s: %d strategies x %s paths x %d months", scenario, len(config.strategies),
             config.engine.paths, config.engine.horizon_months)
    sim = simulate(config, precision_rule(config))
    log.info("simulated in %.1f s (first chunk incl. compile %.1f s)", sim.seconds, sim.compile_seconds)
    ds = build_dataset(sim, seed=config.engine.seed, resolved_config=resolved, scenario=scenario,
                       run_deadlines=[r.deadline_day for r in config.runs.values()])
    return sweep_dataset(ds, config.sweeps), sim.seconds


def _write_outputs(ds, analysis, config, out_dir: Path, *, scenario: str, resolved: str, seconds: float) -> None:
    """``summary.md``, the CSV tables, the plots, ``config_resolved.yaml`` and, last, ``results.nc``; the terminal
    summary when ``report.print_summary``."""
    from simulator.decision.analyse import write_tables
    from simulator.report.decision_plots import save_decision_plots
    from simulator.report.markdown import decision_markdown
    from simulator.report.plots import save_all
    from simulator.report.terminal import print_terminal
    from simulator.results.io import write_atomic

    text = decision_markdown(analysis, scenario=scenario, description=config.description, seconds=seconds)
    ds, sweep_lines, sweep_text = _knob_sweeps(ds, analysis, config, out_dir)
    text += sweep_text
    (out_dir / "config_resolved.yaml").write_text(resolved)
    write_tables(analysis, out_dir)
    if config.report.plots:
        failing = analysis.metrics.index[~analysis.metrics["admissible"].astype(bool)]
        save_all(ds, out_dir, excluded=list(failing))
        save_decision_plots(analysis, out_dir)
    (out_dir / "summary.md").write_text(text)
    write_atomic(ds, out_dir / "results.nc")  # last: its presence means the run is complete
    if config.report.print_summary:
        print_terminal(analysis, scenario=scenario, out_dir=os.path.relpath(out_dir))
        for line in sweep_lines:
            print(line)


def _knob_sweeps(ds, analysis, config, out_dir: Path):
    """The in-engine sweeps' optima under the decision, their Dataset variables, lines, frontier tables and plots."""
    from simulator.decision.analyse import pool_kinds
    from simulator.decision.outcomes import outcomes_of
    from simulator.report.markdown import knob_sweeps_markdown
    from simulator.sweeps.frontier_plot import save_frontier_plots
    from simulator.sweeps.optimum import frontier_frame, sweep_optima
    from simulator.sweeps.prior_map import prior_map_markdown, save_prior_maps
    from simulator.sweeps.sweep_report import describe_knob_sweeps, optimum_dataset

    if not config.sweeps:
        return ds, [], ""
    optima = sweep_optima(outcomes_of(ds, pool_kinds(config)), config.sweeps, config.decision,
                          analysis.recommendation.ranking, has_runs=bool(config.runs))
    lines = describe_knob_sweeps(optima)
    log.info("\n".join(lines))
    frontiers = [frontier_frame(opt, against) for opt in optima.values() if len(opt.labels) > 1
                 for against in ("cvar", "p_late")[: 2 if opt.frontier_late is not None else 1]]
    maps = _prior_maps(ds, config)
    if config.report.plots:
        save_frontier_plots(optima, out_dir)
        save_prior_maps(maps, out_dir)
    text = knob_sweeps_markdown(lines, frontiers) + "".join(
        "\n" + "\n".join(prior_map_markdown(m)) + "\n" for m in maps)
    return optimum_dataset(ds, config.sweeps, optima), lines, text


def _prior_maps(ds, config) -> list:
    """The decision maps of ``config.prior_maps`` (:mod:`simulator.sweeps.prior_map`), on the kept paths."""
    from simulator.config.sweeps import sweep_knobs, sweep_labels
    from simulator.sweeps.prior_map import prior_map_of

    maps = []
    for name, m in config.prior_maps.items():
        sweep = config.sweeps[m.sweep]
        (knob, values), = sweep_knobs(sweep, f"sweeps.{m.sweep}").items()
        maps.append(prior_map_of(ds, sweep_labels(sweep), list(values), prior=m.prior, versus=m.versus, bins=m.bins,
                                 confidence=config.decision.confidence, sweep=name, knob=knob))
    return maps


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
        run_job()
    except KeyboardInterrupt:
        hook.stopped = True
        print("interrupted: results.nc is written only when complete", file=sys.stderr)
        sys.exit(130)
