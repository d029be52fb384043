"""Streamed runs that survive: a checkpoint every ``engine.checkpoint_minutes``, a last one on SIGTERM/SIGINT, resume.

A streamed run (``engine.paths > report.path_level_paths``) saves its state
(:class:`~simulator.engine.checkpoint.PartialRun`: statistics, kept paths, next chunk, the run's identity and
resolved config) to ``RUN_DIR/checkpoint.npz`` between chunks, atomically (temporary file, fsync, ``os.replace``),
so a SIGKILL loses at most the chunks since the last checkpoint. SIGTERM (Slurm's preemption and time limit) and
SIGINT only set a flag, checked between chunks, never save from inside the handler; at the next chunk boundary the
run saves a last checkpoint and exits with one line and status ``128 + signal`` (143, 130). A second Ctrl-C stops at
once. ``python -m simulator rerun RUN_DIR --resume`` continues in the same directory and writes what the
uninterrupted run would have written, bit for bit; ``results.nc`` replaces the checkpoint (``pipeline.write_outputs``).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from simulator.engine.checkpoint import PartialRun, StreamControl, chunk_count, identity

log = logging.getLogger("simulator")
CHECKPOINT = "checkpoint.npz"


class RunInterrupted(Exception):
    """Raised between chunks after a signal, once the last checkpoint is saved."""

    def __init__(self, done: int, total: int, signum: int, run_dir: Path):
        self.code = 128 + signum
        super().__init__(f"interrupted after {done:,} of {total:,} paths; resume with: "
                         f"python -m simulator rerun {run_dir} --resume")


class StopOnSignals:
    """While entered (main thread only), SIGTERM and SIGINT set :attr:`signum`; a second SIGINT interrupts."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signum: int | None = None
        self.previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = self.signum or signum

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, handler)


class Checkpointer:
    """The chunk hook of :class:`~simulator.engine.checkpoint.StreamControl`: saves ``path`` when ``minutes`` have
    passed since the last save, or a signal arrived (then raises :class:`RunInterrupted`)."""

    def __init__(self, path: Path, run_identity: dict, resolved: str, *, paths: int, minutes: float,
                 stop: StopOnSignals | None = None):
        self.path, self.identity, self.resolved, self.paths = Path(path), run_identity, resolved, paths
        self.seconds, self.stop, self.last = 60.0 * minutes, stop, time.monotonic()

    def __call__(self, next_chunk: int, snapshot) -> None:
        signum = self.stop.signum if self.stop is not None else None
        if signum is not None or time.monotonic() - self.last >= self.seconds:
            statistics, outputs, parameters = snapshot()
            PartialRun(self.identity, next_chunk, statistics, outputs, parameters, self.resolved).save(self.path)
            self.last = time.monotonic()
            log.info("checkpoint: %d of %d chunks in %s", next_chunk, self.identity["last_chunk"], self.path)
        if signum is not None:
            done = min(next_chunk * self.identity["chunk"], self.paths)
            raise RunInterrupted(done, self.paths, signum, self.path.parent)


def streamed(config) -> bool:
    return config.engine.paths != "auto" and config.engine.paths > config.report.path_level_paths


@contextlib.contextmanager
def checkpointed(config, out_dir: Path, resolved: str, partial: PartialRun | None = None):
    """Yield the :class:`StreamControl` of a streamed run into ``out_dir`` (None for a run that keeps every path):
    checkpoints as configured, SIGTERM/SIGINT turned into a last checkpoint, one line and exit ``128 + signal``."""
    if not streamed(config):
        yield None
        return
    with StopOnSignals() as stop:
        hook = Checkpointer(Path(out_dir) / CHECKPOINT, identity(config), resolved, paths=config.engine.paths,
                            minutes=config.engine.checkpoint_minutes, stop=stop)
        try:
            yield StreamControl.resuming(partial, on_chunk=hook) if partial else StreamControl(on_chunk=hook)
        except RunInterrupted as exc:
            print(exc, file=sys.stderr)
            sys.exit(exc.code)


def compose_saved(text: str, overrides: list[str] = ()):
    """The validated config of a saved resolved config (as :mod:`simulator.app.rerun` composes it)."""
    from hydra import compose, initialize_config_dir

    from simulator.config.load import to_validated

    folder = Path(tempfile.mkdtemp(prefix="gpu-risk-saved-"))
    try:  # the schema, then the saved values (no run directory: nothing of Hydra's runtime is used)
        (folder / "saved.yaml").write_text("defaults: [schema, _self_]\n" + text)
        with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
            return to_validated(compose("saved", overrides=list(overrides)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def scenario_of(run_dir: Path, config) -> str:
    """The scenario choice Hydra recorded for the run (``.hydra/hydra.yaml``), else ``config.scenario``."""
    import yaml

    path = Path(run_dir) / ".hydra" / "hydra.yaml"
    if path.is_file():
        choices = (yaml.safe_load(path.read_text()) or {}).get("hydra", {}).get("runtime", {}).get("choices", {})
        if choices.get("scenario"):
            return str(choices["scenario"])
    return str(config.scenario)


def log_to(run_dir: Path) -> None:
    """Log as a Hydra run does (``run.log`` in the run directory, appended, and stderr), outside Hydra's runtime."""
    fmt = logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    for handler in (logging.FileHandler(Path(run_dir) / "run.log"), logging.StreamHandler()):
        handler.setFormatter(fmt)
        logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)


def resume(run_dir: Path) -> None:
    """``python -m simulator rerun RUN_DIR --resume``: continue the run's checkpoint in ``RUN_DIR``."""
    from simulator.app.pipeline import analyse_and_write, label_simulation, simulate_config

    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT
    try:
        if not path.is_file():
            done = " (results.nc exists: the run is complete)" if (run_dir / "results.nc").is_file() else ""
            raise ValueError(f"{run_dir}: no {CHECKPOINT} to resume{done}")
        partial = PartialRun.load(path)
        saved = run_dir / ".hydra" / "config.yaml"  # written by Hydra when the run started
        config = compose_saved(saved.read_text())
        if identity(config) != partial.identity:
            raise ValueError(f"{path}: belongs to another run (seed, paths, chunk size or config differ from "
                             f"{run_dir}'s saved config)")
    except Exception as exc:  # a missing, unreadable or foreign checkpoint is a user error
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        sys.exit(2)
    log_to(run_dir)
    scenario = scenario_of(run_dir, config)
    log.info("resuming %s after %d of %d chunks", run_dir, partial.next_chunk, chunk_count(config)[1])
    with checkpointed(config, run_dir, partial.resolved, partial) as control:
        sim = simulate_config(config, scenario, control)
    ds = label_simulation(sim, config, scenario=scenario, resolved=partial.resolved)
    analyse_and_write(ds, config, run_dir, scenario=scenario, resolved=partial.resolved, seconds=sim.seconds)
