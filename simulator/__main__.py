"""Entry point: ``python -m simulator scenario=NAME [key=value ...]``.

It only assembles: compose and validate the config (one-line errors, nothing written), then let Hydra run the job:
simulate, label, write ``results.nc``, ``summary.md``, plots and the resolved config into the run directory.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from . import schema
from .sweeps import expand_sweeps
from .validate import ConfigError, check, check_known_keys, check_overrides, error_line

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
log = logging.getLogger("simulator")
schema.register()


def load_config(overrides: list[str]) -> schema.Config:
    """Compose ``conf/config.yaml`` with ``overrides`` (Hydra's compose API) and validate it.

    Raises the underlying Hydra/OmegaConf exception or :class:`ConfigError`; :func:`error_line` phrases either.
    """
    from hydra import compose, initialize_config_dir

    check_overrides(overrides)
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=overrides)
    except Exception as exc:
        scalar = _scalar_prior(exc, overrides)
        if scalar:
            raise ConfigError(scalar) from exc
        raise
    return to_validated(cfg)


def _scalar_prior(exc: Exception, overrides: list[str]) -> str | None:
    """Name the prior a config file set to a plain number (OmegaConf's merge error does not say which)."""
    import re

    text = str(exc)
    match = re.search(r"In '([\w/\-.]+)'.*is not a subclass of PriorSpec", text, flags=re.S)
    if not match:
        return None
    roots = [CONF_DIR] + [Path(p) for arg in overrides if arg.startswith("hydra.searchpath=")
                          for p in re.findall(r"file://([^,\]'\"]+)", arg)]
    for root in roots:
        path = Path(root) / f"{match.group(1)}.yaml"
        if not path.is_file():
            continue
        try:
            node = OmegaConf.to_container(OmegaConf.load(path))
        except Exception:
            return None
        stack = [("", node)]
        while stack:
            key, value = stack.pop()
            if isinstance(value, dict):
                stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
            elif key.startswith("priors.") or (key.startswith("runs.") and key.endswith(".gpu_hours")):
                return (f"{key} = {value}: a prior needs a distribution, e.g. {{dist: fixed, value: {value}}} "
                        f"(in {path.name})")
    return None


def to_validated(cfg: DictConfig) -> schema.Config:
    """Typed, validated config object from a composed ``DictConfig`` (the only place that reads DictConfig)."""
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg
    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, schema.Config):
        raise ConfigError(
            "the composed config is not typed by the schema (conf/config.yaml must list 'schema')"
        )
    check_known_keys(cfg, obj)
    check(obj)
    return expand_sweeps(obj)


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
    """Run one configured simulation and write its outputs; returns the mean cost of the first strategy."""
    from .analysis import analyse, precision_rule, write_tables
    from .decision_plots import save_decision_plots
    from .multirun import write_verdict
    from .plots import save_all
    from .report import decision_markdown, print_terminal
    from .results import build_dataset, write_atomic
    from .simulate import enable_compilation_cache, simulate
    from .sweeps import describe, sweep_dataset

    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    try:
        config = to_validated(cfg)
    except ConfigError as exc:
        return _job_error(exc)
    if config.engine.compilation_cache:
        enable_compilation_cache()
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    scenario = HydraConfig.get().runtime.choices.get("scenario", config.scenario)
    resolved = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    log.info(
        "scenario %s: %d strategies x %s paths x %d months",
        scenario,
        len(config.strategies),
        config.engine.paths,
        config.engine.horizon_months,
    )
    sim = simulate(config, precision_rule(config))
    log.info("simulated in %.1f s (first chunk incl. compile %.1f s)", sim.seconds, sim.compile_seconds)
    try:
        ds = build_dataset(
            sim,
            seed=config.engine.seed,
            resolved_config=resolved,
            scenario=scenario,
            run_deadlines=[r.deadline_day for r in config.runs.values()],
        )
    except ConfigError as exc:  # NaN or inf outputs: one line, no results written
        return _job_error(exc)
    ds = sweep_dataset(ds, config.sweeps)
    analysis = analyse(ds, config)
    text = decision_markdown(analysis, scenario=scenario, description=config.description, seconds=sim.seconds)
    sweep_lines = describe(ds, config.sweeps)
    if sweep_lines:
        text += "\n## In-engine sweeps\n\n" + "\n".join(f"- {line}" for line in sweep_lines) + "\n"
        log.info("\n".join(sweep_lines))
    (out_dir / "config_resolved.yaml").write_text(resolved)
    write_tables(analysis, out_dir)
    write_verdict(analysis.recommendation, out_dir)  # what a multirun's decision map needs (simulator.multirun)
    if config.report.plots:
        save_all(ds, out_dir)
        save_decision_plots(analysis, out_dir)
    (out_dir / "summary.md").write_text(text)
    write_atomic(ds, out_dir / "results.nc")
    if config.report.print_summary:
        print_terminal(analysis, scenario=scenario, out_dir=os.path.relpath(out_dir))
        for line in sweep_lines:
            print(line)
    return float(analysis.metrics["cost_mean"].iloc[0])  # over all paths, streamed or not


def _job_error(exc: Exception) -> float:
    """One line on stderr; a single run exits with status 2. A multirun job writes the line to ``error.txt`` and
    returns NaN instead, so the other jobs run and the sweep's aggregation (simulator.multirun) reports it."""
    from hydra.types import RunMode

    print(error_line(exc), file=sys.stderr)
    if HydraConfig.get().mode != RunMode.MULTIRUN:
        sys.exit(2)
    (Path(HydraConfig.get().runtime.output_dir) / "error.txt").write_text(error_line(exc) + "\n")
    return float("nan")


class _ReraiseSwallowedInterrupts:
    """An ``unraisablehook`` that raises a Ctrl-C again when Python could not raise it where it landed.

    A SIGINT is handled at the next Python bytecode; when that is a gc callback (JAX registers one), a weakref
    callback (h5py releases objects through them while it writes) or a ``__del__``, the KeyboardInterrupt becomes an
    "Exception ignored in ..." traceback and the run goes on to the end. The hook hides it and interrupts the main
    thread again 50 ms later from a timer thread (raised inside the hook, it would be ignored again), until it lands
    in ordinary code and the run stops with the usual one-line message. Errors that cleanup callbacks raise after an
    interrupt are its consequences and are not reported either.
    """

    def __init__(self, previous):
        self.previous, self.interrupted, self.stopped = previous, False, False

    def __call__(self, unraisable) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            import threading

            self.interrupted = True
            timer = threading.Timer(0.05, self._interrupt_main)
            timer.daemon = True
            timer.start()
        elif not self.interrupted:
            self.previous(unraisable)

    def _interrupt_main(self) -> None:
        import _thread

        if not self.stopped:
            _thread.interrupt_main()


def main() -> None:
    hook = sys.unraisablehook = _ReraiseSwallowedInterrupts(sys.unraisablehook)
    try:
        _prevalidate(sys.argv[1:])
        run_job()
    except KeyboardInterrupt:
        hook.stopped = True
        print("interrupted: results.nc is written only when complete", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
