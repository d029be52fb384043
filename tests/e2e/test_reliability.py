"""Reliability end to end: interruption, atomic outputs, determinism, reruns and safety, in subprocesses.

Every command-line run here uses one small configuration (``hybrid`` cut to its ``spot`` and ``onprem`` strategies,
128 paths, 6 months, no plots except in the network-blocked run, no tornado) and a JAX persistent compilation cache of its own (``JAX_COMPILATION_CACHE_DIR``
in a temporary folder; the project's ``.jax_cache/`` is left alone), so only the first run of each compiled shape
pays the compile (10-30 s on 2 cores); the runs of a phase start together.

* phase 1, two compiles: ``chunk64`` (two chunks of 64 paths, one device, sockets blocked, plots on) and
  ``chunk128_devices2`` (one chunk of 128 paths with ``XLA_FLAGS=--xla_force_host_platform_device_count=2``; the
  device count is part of the compile cache key, so one run checks both invariances at the cost of one compile);
* phase 2, from the cache: ``rerun`` (``python -m simulator rerun`` of ``chunk64``), ``seed1``, and a run stopped
  with SIGINT and one stopped with SIGKILL while simulating.

``write_atomic`` itself is interrupted mid-write (SIGINT and SIGKILL) on a large Dataset in a plain subprocess.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simulator.config.errors import error_line
from simulator.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]
SMALL = [  # spot (spot + on-demand pools) and onprem (owned): interruptions, failures; two pool slots compile fast
    "scenario=hybrid",
    "debug=tiny",  # 6 months, no plots, no terminal table (conf/debug/tiny.yaml)
    "~strategies.on_demand",
    "~strategies.hybrid",
    "engine.paths=128",
    "report.trajectory_paths=20",
    "decision.sensitivity.enabled=false",
    "engine.compilation_cache=false",  # the module's own cache ($JAX_COMPILATION_CACHE_DIR), not .jax_cache/
]
LONG = ["engine.paths=100000", "report.progress=false"]  # runs that are interrupted: still running when signalled
# Run as `python -c BLOCKED ARGS...`: the simulator's own entry point with every internet socket refused; attempts
# are appended to $GPU_RISK_SOCKET_LOG (a test reads it) and raise, so nothing can silently reach the network.
BLOCKED = textwrap.dedent(
    """
    import os, runpy, socket, sys

    def refuse(what):
        def blocked(*args, **kwargs):
            with open(os.environ["GPU_RISK_SOCKET_LOG"], "a") as log:
                log.write(f"{what} {args[1:] if what.startswith('socket.') else args}\\n")
            raise OSError(f"network access blocked by the test: {what}")
        return blocked

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    def connect(self, address, _real=real_connect):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            return refuse("socket.connect")(self, address)
        return _real(self, address)
    def connect_ex(self, address, _real=real_connect_ex):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            return refuse("socket.connect_ex")(self, address)
        return _real(self, address)
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.create_connection = refuse("create_connection")
    socket.getaddrinfo = refuse("getaddrinfo")
    sys.argv = ["simulator", *sys.argv[1:]]
    runpy.run_module("simulator", run_name="__main__", alter_sys=True)
    """
)


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    return {
        **env,
        "MPLBACKEND": "Agg",
        "JAX_COMPILATION_CACHE_DIR": str(cache),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


@contextlib.contextmanager
def _sigint_handled():
    """Children must not inherit an ignored SIGINT (a shell may start the tests with SIGINT ignored, and Python
    keeps an inherited SIG_IGN instead of raising KeyboardInterrupt): a handled signal is reset by ``exec``."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous is signal.SIG_IGN:
            signal.signal(signal.SIGINT, previous)


def _start(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start a command in ``cwd``, its stdout and stderr in ``cwd/stdout.txt`` and ``cwd/stderr.txt``."""
    cwd.mkdir(parents=True, exist_ok=True)
    with _sigint_handled(), open(cwd / "stdout.txt", "w") as out, open(cwd / "stderr.txt", "w") as err:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)


def _finish(process: subprocess.Popen, cwd: Path, timeout: float = 300) -> dict:
    process.wait(timeout=timeout)
    runs = sorted((cwd / "outputs").glob("*/*")) if (cwd / "outputs").exists() else []
    return dict(
        returncode=process.returncode,
        stdout=(cwd / "stdout.txt").read_text(),
        stderr=(cwd / "stderr.txt").read_text(),
        run_dirs=[r for r in runs if r.is_dir()],
        cwd=cwd,
    )


def _signal_when(
    process: subprocess.Popen, cwd: Path, text: str, sig: int, delay: float, timeout: float = 240
):
    """Send ``sig`` ``delay`` seconds after ``text`` appears on the process's stdout (the simulator's log)."""
    start = time.monotonic()
    while text not in (cwd / "stdout.txt").read_text():
        assert process.poll() is None, (cwd / "stderr.txt").read_text()
        assert time.monotonic() - start < timeout, "the run never reached the point to interrupt"
        time.sleep(0.05)
    time.sleep(delay)
    process.send_signal(sig)


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """Every command-line run of this module, in two concurrent phases (module docstring)."""
    base = tmp_path_factory.mktemp("reliability")
    cache = base / "jax_cache"
    sockets = base / "socket_attempts.log"
    sockets.write_text("")
    simulator = [sys.executable, "-m", "simulator"]
    phase1 = {
        "chunk64": _start(
            [sys.executable, "-c", BLOCKED, *SMALL, "engine.chunk_size=64", "report.plots=true"],
            base / "chunk64",
            _env(cache, GPU_RISK_SOCKET_LOG=str(sockets)),
        ),
        "chunk128_devices2": _start(
            [*simulator, *SMALL, "engine.chunk_size=128"],
            base / "chunk128_devices2",
            _env(cache, XLA_FLAGS="--xla_force_host_platform_device_count=2"),
        ),
    }
    results = {name: _finish(p, base / name) for name, p in phase1.items()}
    first = results["chunk64"]
    assert first["returncode"] == 0, first["stderr"]
    (run_dir,) = first["run_dirs"]
    phase2 = {
        "rerun": _start([sys.executable, "-m", "simulator", "rerun", str(run_dir)], base / "rerun", _env(cache)),
        "seed1": _start(
            [*simulator, *SMALL, "engine.chunk_size=64", "engine.seed=1"], base / "seed1", _env(cache)
        ),
        # long runs (1,563 chunks, tens of seconds): with the engine already in the module's compilation cache a
        # 128-path run could finish before the signal lands (it did once in CI, exit 0)
        "sigint": _start([*simulator, *SMALL, "engine.chunk_size=64", *LONG], base / "sigint", _env(cache)),
        "sigkill": _start([*simulator, *SMALL, "engine.chunk_size=64", *LONG], base / "sigkill", _env(cache)),
    }
    _signal_when(phase2["sigint"], base / "sigint", "strategies x", signal.SIGINT, 0.5)
    _signal_when(phase2["sigkill"], base / "sigkill", "strategies x", signal.SIGKILL, 0.5)
    results |= {name: _finish(p, base / name) for name, p in phase2.items()}
    results["socket_log"] = sockets.read_text()
    return results


def _dataset(result: dict) -> xr.Dataset:
    assert result["returncode"] == 0, result["stderr"]
    (run_dir,) = result["run_dirs"]
    with xr.open_dataset(run_dir / "results.nc") as ds:
        return ds.load()


def _assert_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].values.tobytes() == b[name].values.tobytes(), f"{name} differs"


# --- determinism --------------------------------------------------------------------------------------------------


@pytest.mark.slow  # also at the engine level: test_engine (chunk sizes), test_devices (two forced devices)
def test_results_are_bit_identical_across_chunk_sizes_and_device_counts(cli):
    """Two chunks of 64 paths on one device, and one chunk of 128 paths with two (forced) host devices."""
    one, two = _dataset(cli["chunk64"]), _dataset(cli["chunk128_devices2"])
    assert len(one.attrs["device"].split(", ")) == 1
    assert len(two.attrs["device"].split(", ")) == 2, two.attrs[
        "device"
    ]  # the forced device count took effect
    assert (
        "chunk_size: 64" in one.attrs["resolved_config"] and "chunk_size: 128" in two.attrs["resolved_config"]
    )
    _assert_identical(one, two)


def test_different_seeds_give_different_results(cli):
    a, b = _dataset(cli["chunk64"]), _dataset(cli["seed1"])
    assert b.attrs["seed"] == 1 and a.attrs["seed"] == 0
    assert not np.array_equal(a["cost"].values, b["cost"].values)
    assert not np.array_equal(
        a["param_market__drift_per_year"].values, b["param_market__drift_per_year"].values
    )


def test_provenance_is_in_the_dataset(cli):
    ds = _dataset(cli["chunk64"])
    for attr in (
        "seed",
        "resolved_config",
        "created_at",
        "device",
        "platform",
        "python",
        "version_jax",
        "version_jaxlib",
        "version_numpy",
        "version_xarray",
        "version_gpu-risk",
        "scenario",
    ):
        assert attr in ds.attrs, attr
    saved = ds.attrs["resolved_config"]
    assert "seed: 0" in saved and "paths: 128" in saved and "chunk_size: 64" in saved
    (run_dir,) = cli["chunk64"]["run_dirs"]
    assert (run_dir / "config_resolved.yaml").read_text() == saved


def test_rerun_reproduces_a_saved_run_bit_for_bit(cli):
    original, rerun = _dataset(cli["chunk64"]), _dataset(cli["rerun"])
    assert rerun.attrs["resolved_config"] == original.attrs["resolved_config"]
    assert rerun["cost"].values.tobytes() == original["cost"].values.tobytes()
    _assert_identical(original, rerun)
    (run_dir,) = cli["rerun"]["run_dirs"]
    assert run_dir.parent.name == "hybrid" and not (cli["rerun"]["cwd"] / "outputs" / "multirun").exists()


def test_a_run_directory_its_results_and_its_config_give_the_same_saved_config(cli):
    from simulator.app.rerun import saved_config

    (run_dir,) = cli["chunk64"]["run_dirs"]
    text = saved_config(run_dir)
    assert text == saved_config(run_dir / "results.nc") == saved_config(run_dir / "config_resolved.yaml")
    assert "chunk_size: 64" in text


def test_rerun_config_types_exactly_and_takes_overrides(tmp_path):
    """The saved config types onto the schema exactly as it was run; overrides apply on top; errors are one line."""
    from hydra import compose, initialize_config_dir

    from simulator.app.rerun import primary_config
    from simulator.config.load import to_validated

    cfg = load_config(["scenario=all", "engine.seed=7"])
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        composed = compose("config", overrides=["scenario=all", "engine.seed=7"])
    (tmp_path / "rerun.yaml").write_text(primary_config(OmegaConf.to_yaml(composed, resolve=True)))
    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        again = to_validated(compose("rerun"))
        faster = to_validated(compose("rerun", overrides=["engine.paths=64"]))
    assert again == cfg and list(again.strategies) == list(cfg.strategies)
    assert faster.engine.paths == 64 and faster.engine.seed == 7
    # a saved scenario name can never send the rerun's outputs outside outputs/
    text = primary_config("scenario: ../../evil\n")
    assert "outputs/rerun/" in text and "evil" not in text.split("scenario:")[0]
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "rerun", str(tmp_path / "nothing_here")],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "nothing_here" in result.stderr and "Traceback" not in result.stderr


# --- interruption and atomic outputs ------------------------------------------------------------------------------


def _no_partial_results(result: dict) -> None:
    for run_dir in result["run_dirs"]:
        path = run_dir / "results.nc"
        if path.exists():  # complete, or not there at all
            with xr.open_dataset(path) as ds:
                assert ds["cost"].shape == (2, 128) and np.isfinite(ds["cost"].values).all()
        assert not list(run_dir.glob("*.tmp")), list(run_dir.iterdir())


def test_sigint_mid_run_is_one_line_and_no_partial_results(cli):
    result = cli["sigint"]
    assert result["returncode"] not in (0, None), result
    lines = result["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted"), result["stderr"]
    assert "Traceback" not in result["stderr"] + result["stdout"]
    _no_partial_results(result)


def test_sigkill_mid_run_leaves_no_partial_results(cli):
    result = cli["sigkill"]
    assert result["returncode"] == -signal.SIGKILL
    _no_partial_results(result)


GC_INTERRUPT = textwrap.dedent(
    """
    import gc, os, signal, sys
    from simulator.app._interrupts import ReraiseSwallowedInterrupts
    if sys.argv[1] == "hook":
        sys.unraisablehook = ReraiseSwallowedInterrupts(sys.unraisablehook)
    fired = []
    def callback(phase, info):  # like JAX's gc callback: Python code that runs inside the collector
        if phase == "start" and not fired:
            fired.append(1)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C lands here ...
            total = sum(range(10000))  # ... and KeyboardInterrupt is raised inside the callback
    gc.callbacks.append(callback)
    try:
        gc.collect()
        total = 0
        for i in range(10**7):
            total += i
        print("finished")
    except KeyboardInterrupt:
        print("interrupted")
    """
)


@pytest.mark.parametrize("hook", ["hook", "nohook"])
def test_ctrl_c_inside_a_gc_callback_still_stops_the_run(tmp_path, hook):
    """Found by the SIGINT test: a Ctrl-C landing in JAX's gc callback was printed as "Exception ignored" and the
    run went on to exit 0. ``main`` installs a hook that raises it again; without it the interrupt is lost."""
    with _sigint_handled():
        result = subprocess.run(
            [sys.executable, "-c", GC_INTERRUPT, hook],
            cwd=tmp_path,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
    if hook == "hook":
        assert result.stdout.strip() == "interrupted" and result.stderr == "", result
    else:  # the failure the hook exists for
        assert result.stdout.strip() == "finished" and "Exception ignored" in result.stderr, result


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np, xarray as xr
    from simulator.app._interrupts import ReraiseSwallowedInterrupts
    from simulator.results.io import write_atomic
    sys.unraisablehook = ReraiseSwallowedInterrupts(sys.unraisablehook)  # as the entry point does
    rng = np.random.default_rng(2)  # many variables: Python runs between them, where an interrupt can land
    ds = xr.Dataset({f"cost{i}": (("strategy", "path"), rng.random((4, 100_000))) for i in range(30)})
    write_atomic(ds, Path(sys.argv[1]))
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_write_keeps_the_previous_file(tmp_path, sig):
    """``write_atomic`` stopped while it writes: the target is still the previous complete file, never a partial
    one (or, if the write won the race, the complete new one)."""
    from simulator.results.io import write_atomic

    target = tmp_path / "results.nc"
    old = xr.Dataset({"cost": (("strategy", "path"), np.arange(8.0).reshape(4, 2))})
    write_atomic(old, target)
    process = _start([sys.executable, "-c", WRITER, str(target)], tmp_path / "writer", _env(tmp_path))
    start = time.monotonic()
    while not list(tmp_path.glob(".results.*.nc.tmp")):  # the temporary file is being written
        assert process.poll() is None, (tmp_path / "writer" / "stderr.txt").read_text()
        assert time.monotonic() - start < 120
        time.sleep(0.005)
    time.sleep(0.05)
    process.send_signal(sig)
    process.wait(timeout=120)
    finished = "done" in (tmp_path / "writer" / "stdout.txt").read_text()
    assert finished or process.returncode != 0
    with xr.open_dataset(target) as ds:
        if "cost" in ds:  # the previous file, intact
            np.testing.assert_array_equal(ds["cost"].values, old["cost"].values)
        else:  # the rename happened before the signal took effect: the complete new file
            assert len(ds.data_vars) == 30 and ds["cost29"].shape == (4, 100_000)
            assert np.isfinite(ds["cost29"].values).all()
    assert "Traceback" not in (tmp_path / "writer" / "stderr.txt").read_text() or sig == signal.SIGINT
    leftovers = list(tmp_path.glob(".results.*.nc.tmp"))
    assert leftovers == [] if sig == signal.SIGINT else len(leftovers) <= 1  # SIGKILL cannot clean up


# --- safety -------------------------------------------------------------------------------------------------------


def _error(overrides: list[str]) -> str:
    """The one-line error of a configuration that must be rejected."""
    try:
        load_config(overrides)
    except Exception as exc:  # any composition or validation failure
        line = error_line(exc)
        assert "\n" not in line and line.startswith("config error: "), line
        return line
    raise AssertionError(f"accepted: {overrides}")


def test_no_network_access_during_a_run(cli):
    """The blocked run simulated, wrote results, summary and plots without trying to open a socket."""
    result = cli["chunk64"]
    assert result["returncode"] == 0, result["stderr"]
    assert cli["socket_log"] == "", cli["socket_log"]
    (run_dir,) = result["run_dirs"]
    for name in ("results.nc", "summary.md", "summary.csv", "cost_distribution.png", "risk_map.png"):
        assert (run_dir / name).is_file(), name


def test_run_directory_stays_under_outputs(cli):
    for name in ("chunk64", "chunk128_devices2", "rerun", "seed1"):
        result = cli[name]
        outputs = (result["cwd"] / "outputs").resolve()
        for run_dir in result["run_dirs"]:
            assert run_dir.resolve().is_relative_to(outputs), run_dir
        assert sorted(p.name for p in result["cwd"].iterdir()) == ["outputs", "stderr.txt", "stdout.txt"]


@pytest.mark.parametrize(
    "override",
    [
        "scenario=../../x",
        "scenario=..",
        "scenario=/tmp/x",
        "scenario=a/../../b",
        "+strategy@strategies.x=../../../etc/x",
    ],
)
def test_names_from_config_cannot_escape(override):
    assert "may use letters, digits" in _error([override])


@pytest.mark.parametrize(
    "node",
    [
        "",
        "engine.",
        "priors.market.",
        "providers.hyperscaler.spot_discount.",
        "strategies.hybrid.",
        "strategies.hybrid.pools.base.",
        "runs.foundation_v1.",
    ],
)
def test_target_keys_are_unknown_keys(node):
    """``_target_`` is never instantiated: it is rejected like any key the schema does not have."""
    for override in (f"+{node}_target_=os.system", f"{node}_target_=os.system"):
        line = _error([override])
        assert f"{node}_target_" in line and ("unknown key" in line or "not in" in line), line


def test_no_object_construction_or_unsafe_loading_in_the_package():
    """Objects are built from config by the package's own code only: no instantiate, no unsafe YAML, no eval."""
    forbidden = (
        "instantiate(",
        "hydra.utils",
        "yaml.load(",
        "unsafe_load",
        "yaml.Loader",
        "pickle",
        "eval(",
        "exec(",
        "__import__",
        "importlib.import_module",
        "urllib",
        "requests",
        "http.client",
    )
    for path in sorted((ROOT / "simulator").rglob("*.py")):
        text = path.read_text().replace("allow_pickle=False", "")  # numpy refusing to unpickle is fine
        for word in forbidden:
            assert word not in text, f"{path.relative_to(ROOT)} uses {word}"


def test_python_yaml_tags_fail_cleanly(tmp_path):
    marker = tmp_path / "executed"
    (tmp_path / "scenario").mkdir()
    body = (ROOT / "scenarios" / "hybrid.yaml").read_text()
    for i, tag in enumerate(
        [
            f'!!python/object/apply:os.system ["touch {marker}"]',
            "!!python/name:os.system",
            f"!!python/object/apply:pathlib.Path.touch [{marker}]",
        ]
    ):
        (tmp_path / "scenario" / f"tagged{i}.yaml").write_text(body + f"\nnotes: {tag}\n")
        line = _error([f"hydra.searchpath=[file://{tmp_path}]", f"scenario=tagged{i}"])
        assert f"tagged{i}.yaml" in line and "could not determine a constructor" in line, line
    assert not marker.exists()
