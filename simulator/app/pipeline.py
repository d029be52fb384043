"""The steps of a run that do not depend on Hydra's runtime: simulate, label, analyse, write.

:mod:`simulator.app.run` (the command line) calls them inside Hydra's job; other entry points (a notebook API, a
resumed or merged run) call them with a run directory of their own.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("simulator")


def simulate_config(config, scenario: str, control=None):
    """Run the engine on a validated config (compilation cache as configured): the finished ``Simulation``;
    ``control``: a streamed run's checkpoints and chunk range (:mod:`simulator.app.checkpoint`)."""
    from simulator.decision.analyse import precision_rule
    from simulator.engine.host import enable_compilation_cache, simulate

    if config.engine.compilation_cache:
        enable_compilation_cache()
    log.info("scenario %s: %d strategies x %s paths x %d months", scenario, len(config.strategies),
             config.engine.paths, config.engine.horizon_months)
    sim = simulate(config, precision_rule(config), control)
    log.info("simulated in %.1f s (first chunk incl. compile %.1f s)", sim.seconds, sim.compile_seconds)
    return sim


def label_simulation(sim, config, *, scenario: str, resolved: str):
    """The labelled Dataset of a finished simulation, with the in-engine sweeps' knob variables.

    Raises :class:`~simulator.config.errors.SimulationOverflow` when an output is NaN or inf.
    """
    from simulator.results.dataset import build_dataset
    from simulator.sweeps.knobs import sweep_dataset

    ds = build_dataset(sim, seed=config.engine.seed, resolved_config=resolved, scenario=scenario,
                       run_deadlines=[r.deadline_day for r in config.runs.values()])
    return sweep_dataset(ds, config.sweeps)


def analyse_and_write(ds, config, out_dir: Path, *, scenario: str, resolved: str, seconds: float):
    """Analyse a labelled Dataset (tornado re-runs through the engine) and write every output into ``out_dir``:
    returns the analysis."""
    from simulator.app.tornado_rerun import EngineRerun
    from simulator.decision.analyse import analyse

    analysis = analyse(ds, config, rerun=EngineRerun(config))
    write_outputs(ds, analysis, config, out_dir, scenario=scenario, resolved=resolved, seconds=seconds)
    return analysis


def write_outputs(ds, analysis, config, out_dir: Path, *, scenario: str, resolved: str, seconds: float) -> None:
    """``summary.md``, ``report.html``, the CSV tables, the plots, ``config_resolved.yaml`` and, last, ``results.nc``; the terminal
    summary when ``report.print_summary``."""
    from simulator.config.prior_summary import prior_summary
    from simulator.decision.analyse import write_tables
    from simulator.report.decision_plots import save_decision_plots
    from simulator.report.html import write_run_report
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
    write_run_report(analysis, config, out_dir, scenario=scenario, seconds=seconds, prior_table=prior_summary(config))
    write_atomic(ds, out_dir / "results.nc")  # last: its presence means the run is complete
    (out_dir / "checkpoint.npz").unlink(missing_ok=True)  # a complete run needs no resume (app/checkpoint.py)
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
