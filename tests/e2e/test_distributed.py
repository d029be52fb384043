"""A multi-host JAX run (``engine.distributed=true``), made with two local CPU processes, against a one-process run.

Two processes of ``python -m simulator`` join through ``jax.distributed`` (coordinator on a free localhost port, CPU
collectives over gloo), split each chunk's paths over their two devices, and only process 0 writes. Run beside them:
the same command in one process. Every path gets the same random draws (the ``param_*`` variables are the same bits)
but the engine's float32 outputs are equal only to float32 rounding (jax 0.10.2): some paths round differently in the
last bit (at most ~2.5 ulps of each variable's largest value here), and statistics that compare paths at exact ties
(pairwise win rates) can move by a path. The cause lies below the HLO: the per-device program of the two-process
mesh has the same fused computations as that of two forced devices in one process (compared in
``compiled.as_text()``), and those are bit-identical to one device (``tests/engine/test_devices.py``); limiting the
one-process run's ISA (``--xla_cpu_max_isa=AVX2`` or ``SSE4_2``) does not reproduce the two-process bits either.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

# three compiles at once (one process, two joined ones): ~1-2 min on 2 idle cores, ~4 min on a loaded machine
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-m", "simulator", "scenario=hybrid", "debug=tiny"]
# differ between any two runs (clock, timings, devices) or by the command line (the distributed settings)
VOLATILE_ATTRS = {"created_at", "device", "simulate_seconds", "compile_seconds", "resolved_config"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """``one/`` (one process) and ``two/`` (two processes), started together in a fresh working directory."""
    work = tmp_path_factory.mktemp("distributed")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    joined = ["engine.distributed=true", f"engine.coordinator_address=127.0.0.1:{_free_port()}",
              "engine.num_processes=2", f"hydra.run.dir={work / 'two'}"]
    commands = [RUN + [f"hydra.run.dir={work / 'one'}"]] + [RUN + joined + [f"engine.process_id={i}"] for i in (0, 1)]
    procs = [subprocess.Popen(c, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    try:
        done = [(p.communicate(timeout=600)[1], p.returncode) for p in procs]
    finally:
        for p in procs:
            p.kill()  # only those still running (a failed join would otherwise wait for its peer)
    for (err, code), c in zip(done, commands, strict=True):
        assert code == 0, f"{c[4:]}\n{err[-3000:]}"
    return work


def test_only_process_zero_writes(runs):
    assert sorted(p.name for p in runs.iterdir()) == ["one", "two"]  # process 1 made no directory, no outputs/
    assert (runs / "two" / ".hydra" / "config.yaml").is_file() and (runs / "two" / "results.nc").is_file()
    assert sorted(p.name for p in (runs / "one").iterdir()) == sorted(p.name for p in (runs / "two").iterdir())


ULPS = 8  # float32 ulps (2**-23 each) of a variable's largest magnitude; ~2.5 seen


def test_two_processes_equal_one_process_to_float32_rounding(runs):
    with xr.open_dataset(runs / "one" / "results.nc", engine="h5netcdf") as one, \
            xr.open_dataset(runs / "two" / "results.nc", engine="h5netcdf") as two:
        assert len(two.attrs["device"].split(", ")) == 2  # the paths ran on both processes' devices
        assert set(one.variables) == set(two.variables) and len(one.data_vars) > 50
        for name in one.variables:
            a, b = one[name].values, two[name].values
            if name in one.coords or name.startswith("param_") or not np.issubdtype(a.dtype, np.floating):
                np.testing.assert_array_equal(b, a, err_msg=name)  # labels, per-path draws, counts: exact
            else:
                scale = float(np.max(np.abs(a), initial=0.0))
                np.testing.assert_allclose(b, a, rtol=0, atol=ULPS * 2.0**-23 * scale, err_msg=name)
        for key, value in one.attrs.items():
            if key not in VOLATILE_ATTRS:
                assert np.array_equal(two.attrs[key], value), key
