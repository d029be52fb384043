"""Several accelerators: one run's paths sharded over every device along a 1-D mesh axis ``"paths"``.

Each path's random numbers come from its index alone (``fold_in``, see :mod:`simulator.engine`), and no output mixes
paths, so splitting a chunk's path indices across devices and replicating the inputs gives, path for path, the
numbers of a single-device run. The bits are identical as long as every device gets whole blocks of
``PATH_BLOCK`` paths (the engine's chunk-size invariance, see :func:`simulator.engine.host.run_paths`); hence
:func:`chunk_multiple`.

Two ways to run a sharded chunk on the devices of one process (``tests/engine/test_devices.py``):

* :func:`simulate_chunk_sharded` (the one to use; bit-identical): ``shard_map`` runs the unchanged single-device program on each
  device's block of paths, with no communication at all. The ``lax.cond(any(rate > 0))`` shortcuts in
  :mod:`simulator.engine.processes.sampling` then look only at the device's own paths; they skip work whose result is
  zero, so they change no value.
* ``simulate_chunk_jit(inputs, key, shard_ids(ids), grid)``: GSPMD propagates the ``"paths"`` sharding from the ids
  to every output. Its only collectives are scalar boolean all-reduces, one per ``any(...)`` predicate per step,
  which keep the predicates global and so equal to a single device's; but each is a device synchronisation. It is
  bit-identical with jax 0.10; with jax 0.12 the partitioned program rounds some float32 costs differently in the
  last bits (a few ulps), so it stays a cross-check, not the production path.

Multi-host (``engine.distributed=true``, :mod:`simulator.app.distributed`): after ``jax.distributed.initialize()`` on
every process, ``jax.devices()`` lists the devices of all processes, so :func:`path_mesh` spans the job;
:func:`shard_ids` gives each process only its addressable shards and :func:`to_host` gathers the outputs on every
process (after a coordination-service barrier). Tested with two local CPU processes (``tests/e2e/test_distributed.py``):
every path draws the same numbers as on one process, but float32 outputs agree only to rounding (a few ulps), not to
the bit, though the per-device program has the same fused HLO as on two devices of one process (which is exact).
"""

from __future__ import annotations

import functools
import itertools

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from simulator.engine.scan import Grid, simulate_chunk, simulate_chunk_jit

PATH_AXIS = "paths"
PATH_BLOCK = 64  # compiled batches are whole blocks of paths, so a path always lands in the same vector lane


def path_mesh(devices: list | None = None) -> Mesh:
    """A 1-D mesh with axis ``"paths"`` over ``devices`` (default: ``jax.devices()``).

    Parameters
    ----------
    devices : list of jax.Device, optional
        Devices to shard paths over. ``jax.devices()`` is every local device of the default backend (all GPUs of
        the host; one device on CPU unless ``--xla_force_host_platform_device_count`` is set) and, after
        ``jax.distributed.initialize()``, the devices of all processes.

    Returns
    -------
    jax.sharding.Mesh
        Axis type ``Auto``: the engine's jitted code is unchanged, shardings propagate without annotations.
    """
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.array(devices), (PATH_AXIS,), axis_types=(AxisType.Auto,))


def chunk_multiple(n_devices: int | None = None) -> int:
    """The number a chunk size must be a multiple of: ``PATH_BLOCK * n_devices`` (default: ``len(jax.devices())``).

    Each device then gets whole blocks of ``PATH_BLOCK`` paths, so a path sits in the same vector lane as in a
    single-device run and its results are the same to the bit.
    """
    return PATH_BLOCK * (len(jax.devices()) if n_devices is None else n_devices)


def round_chunk(chunk_size: int, paths: int, n_devices: int | None = None) -> int:
    """``min(chunk_size, paths)`` rounded up to a multiple of :func:`chunk_multiple`: the size of every chunk."""
    multiple = chunk_multiple(n_devices)
    return -(-min(chunk_size, paths) // multiple) * multiple


def shard_ids(ids, mesh: Mesh | None = None) -> jax.Array:
    """Path indices placed along the mesh axis ``"paths"`` (returned unchanged on a one-device mesh).

    Parameters
    ----------
    ids : array_like of uint32, shape (N,)
        The chunk's path indices, the same full array on every process; ``N`` a multiple of
        ``chunk_multiple(mesh.size)``.
    mesh : jax.sharding.Mesh, optional
        Default :func:`path_mesh`.

    Returns
    -------
    jax.Array
        Sharded ``NamedSharding(mesh, PartitionSpec("paths"))``: device ``d`` holds ids ``[d N / D, (d + 1) N / D)``.
        Built with ``jax.make_array_from_callback``, so on several processes each one places only its own shards.
    """
    mesh = path_mesh() if mesh is None else mesh
    if mesh.size == 1:
        return ids
    host = np.asarray(ids, dtype=np.uint32)
    if host.ndim != 1 or host.shape[0] % chunk_multiple(mesh.size):
        raise ValueError(
            f"a sharded chunk needs a multiple of {chunk_multiple(mesh.size)} paths "
            f"(PATH_BLOCK x {mesh.size} devices), got shape {host.shape}"
        )
    sharding = NamedSharding(mesh, PartitionSpec(PATH_AXIS))
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


@functools.partial(jax.jit, static_argnames=("grid", "mesh"))
def _simulate_local(inputs, root_key: jax.Array, path_ids: jax.Array, grid: Grid, mesh: Mesh) -> dict:
    # check_vma=False: the scan carries start replicated and become per-device; the body has no collectives.
    per_device = jax.shard_map(
        functools.partial(simulate_chunk, grid=grid),
        mesh=mesh,
        in_specs=(PartitionSpec(), PartitionSpec(), PartitionSpec(PATH_AXIS)),
        out_specs=PartitionSpec(PATH_AXIS),
        check_vma=False,
    )
    return per_device(inputs, root_key, path_ids)


def simulate_chunk_sharded(
    inputs, root_key: jax.Array, path_ids, grid: Grid, mesh: Mesh | None = None
) -> dict:
    """:func:`~simulator.engine.simulate_chunk` with the paths split over ``mesh``; same outputs, to the bit.

    Parameters
    ----------
    inputs, root_key, grid
        As for :func:`~simulator.engine.simulate_chunk`; ``inputs`` and the key are replicated on every device.
    path_ids : array_like of uint32, shape (N,)
        The chunk's path indices (sharded here by :func:`shard_ids` unless already sharded over ``mesh``);
        ``N`` a multiple of ``chunk_multiple(mesh.size)``.
    mesh : jax.sharding.Mesh, optional
        Default :func:`path_mesh`. On one device this is exactly ``simulate_chunk_jit`` (same compiled program and
        compilation-cache entry).

    Returns
    -------
    dict
        The engine's outputs, path axis first, each sharded ``PartitionSpec("paths")`` over the mesh.

    Notes
    -----
    Each device runs the single-device program on its ``N / D`` paths (``jax.shard_map``); nothing is communicated.
    """
    mesh = path_mesh() if mesh is None else mesh
    if mesh.size == 1:
        return simulate_chunk_jit(inputs, root_key, path_ids, grid)
    sharding = NamedSharding(mesh, PartitionSpec(PATH_AXIS))
    if not (isinstance(path_ids, jax.Array) and path_ids.sharding.is_equivalent_to(sharding, 1)):
        path_ids = shard_ids(path_ids, mesh)
    return _simulate_local(inputs, root_key, path_ids, grid, mesh)


def to_host(tree):
    """Outputs as numpy arrays on this process: ``jax.device_get`` on one process, else gathered from all of them.

    On several processes every process receives every path (``multihost_utils.process_allgather``), so the host
    merges that follow run identically everywhere; only process 0 writes files (:mod:`simulator.app.distributed`).
    Every process calls this once per chunk, in the same order; each call first waits for all of them
    (:func:`_wait_for_every_process`).
    """
    if jax.process_count() == 1:
        return jax.device_get(tree)
    _wait_for_every_process()
    return multihost_utils.process_allgather(tree, tiled=True)


BARRIER_TIMEOUT_MS = 3_600_000  # a process may be an hour behind (compiling, a slow chunk) before the run fails
_gathers = itertools.count()


def _wait_for_every_process() -> None:
    """Block until every process has reached this gather: a barrier of the coordination service, no collective.

    A CPU collective (gloo) gives every process only 30 s to join when it first runs, and a process still compiling
    the engine (on a loaded machine, or a slower host) arrives later than that; the barrier waits up to
    :data:`BARRIER_TIMEOUT_MS`. It is the barrier JAX's own multi-process tests use (``jax._src.distributed``).
    """
    from jax._src import distributed

    client = distributed.global_state.client
    if client is not None:
        client.wait_at_barrier(f"simulator.to_host.{next(_gathers)}", BARRIER_TIMEOUT_MS)
