"""Multi-host JAX runs (``engine.distributed=true``): every process computes its share, process 0 alone writes.

Every process of the job runs the same command line. :func:`start` calls ``jax.distributed.initialize`` on each of
them before any other JAX call; ``jax.devices()`` then lists the devices of all processes, so the engine's path mesh
(:func:`simulator.engine.devices.path_mesh`) spans the job and each chunk's ``N`` path indices are split into
``N / D`` contiguous whole blocks of 64 paths per device (``D`` devices in all). Each path's random numbers depend only
on its index, so every path draws what it draws in a one-process run; its float32 outputs agree with that run to
rounding (a few ulps, from below the HLO: the per-device program is the one two devices of one process run exactly),
not to the bit (``tests/e2e/test_distributed.py``). :func:`simulator.engine.devices.to_host` gathers every chunk's outputs to
every process, which therefore merge, analyse (and re-run the tornado, whose sharded chunks need every process again)
identically. Process 0 runs the usual Hydra job and owns the run
directory; the other processes never enter Hydra, so they create no directory, no ``.hydra/`` and no log file.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("simulator")


def initialize(engine) -> int:
    """``jax.distributed.initialize`` from ``engine``'s settings (once per process): this process's index.

    Parameters
    ----------
    engine : simulator.config.schema.EngineConfig
        ``coordinator_address``, ``num_processes`` and ``process_id``; each ``None`` is left to JAX, which reads
        it from Slurm's (``SLURM_*``) or Open MPI's environment.

    Returns
    -------
    int
        ``jax.process_index()``: 0 for the process that writes.

    Notes
    -----
    Must run before anything initialises a JAX backend (``jax.devices()``, an array, a compile). Cross-process
    collectives on CPU need an implementation: ``jax_cpu_collectives_implementation="gloo"`` unless the environment
    chose one (``JAX_CPU_COLLECTIVES_IMPLEMENTATION``, e.g. ``mpi``).
    """
    import jax

    if not jax.distributed.is_initialized():
        if "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=engine.coordinator_address,
                                   num_processes=engine.num_processes, process_id=engine.process_id)
    log.info("jax.distributed: process %d of %d, %d devices in all", jax.process_index(), jax.process_count(),
             len(jax.devices()))
    return jax.process_index()


def start(argv: list[str]) -> bool:
    """Join a multi-host run when the config asks for one; ``True`` when this process goes on to run Hydra's job.

    Process 0 (and every single-process run, and Hydra's own commands ``--help``, ``--cfg``, ``-m``) returns
    ``True``. Any other process of a distributed run computes its share here, writes nothing, and returns
    ``False``; on a :class:`~simulator.config.errors.SimulationOverflow` it prints the same line as process 0 and
    exits with status 2.
    """
    if any(arg.startswith("-") for arg in argv):
        return True
    from simulator.config.load import load_config

    config = load_config(argv)
    if not config.engine.distributed or initialize(config.engine) == 0:
        return True
    _compute_share(config)
    return False


def _compute_share(config) -> None:
    """Simulate, label and analyse as process 0 does (the same JAX programs in the same order), writing nothing."""
    from simulator.app.tornado_rerun import EngineRerun
    from simulator.config.errors import SimulationOverflow, error_line
    from simulator.decision.analyse import analyse

    from .pipeline import label_simulation, simulate_config

    try:
        ds = label_simulation(simulate_config(config, config.scenario), config, scenario=config.scenario,
                              resolved="")
    except SimulationOverflow as exc:
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)
    analyse(ds, config, rerun=EngineRerun(config))
