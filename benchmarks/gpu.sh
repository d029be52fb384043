#!/usr/bin/env bash
# Benchmark and test suite on a machine with an NVIDIA GPU and no network.
#
# The GPU machines come with JAX (CUDA), numpy, scipy, xarray, seaborn and h5py, but not hydra-core, omegaconf and
# the project's other small dependencies. Those travel as wheels in benchmarks/wheels/ (git-ignored):
#
#   1. where there is network (a developer machine):   bash benchmarks/gpu.sh fetch
#      downloads the wheels (pure Python, plus PyYAML, multiprocess and hypothesis for CPython 3.10-3.13; ~10 MB) into
#      benchmarks/wheels/;
#   2. on the GPU machine, from the repository root:   bash benchmarks/gpu.sh [bench|test]
#      (when the working tree is shipped to it, name benchmarks/wheels among the paths carried along) installs them
#      with --no-index, checks that JAX sees a GPU, prints the benchmark table, then runs the test suite
#      ("bench" or "test" alone: one of the two, e.g. where one command may run 10 minutes at most).
#
# Environment: GPU_BENCH_ARGS overrides the benchmark's arguments; GPU_TEST_ARGS adds pytest arguments
# (e.g. "-x -k engine"); GPU_SKIP_TESTS=1 skips the suite; GPU_ALLOW_CPU=1 runs on a machine without a GPU
# (to test this script itself: the numbers are then CPU numbers).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=benchmarks/wheels
# hydra-core/omegaconf/antlr4 for the config; rich, SALib, h5netcdf for the run's reports and results;
# the joblib and submitit launchers for sweeps; pytest and hypothesis for the tests; their pure-Python dependencies.
PURE="hydra-core==1.3.2 omegaconf==2.3.0 rich markdown-it-py mdurl pygments SALib dill h5netcdf packaging pytest
      pluggy iniconfig attrs sortedcontainers hydra-joblib-launcher hydra-submitit-launcher submitit joblib
      cloudpickle typing_extensions"

if [[ "${1:-}" == "fetch" ]]; then
    mkdir -p "$WHEELS"
    # shellcheck disable=SC2086
    python -m pip download --quiet --no-deps --only-binary=:all: -d "$WHEELS" $PURE
    # antlr4-python3-runtime 4.9.3 (the version hydra-core 1.3 pins) is published as a source archive only:
    # build its pure-Python wheel here, so the GPU machine needs no build tools.
    python -m pip wheel --quiet --no-deps -w "$WHEELS" antlr4-python3-runtime==4.9.3
    for py in 3.10 3.11 3.12 3.13; do
        python -m pip download --quiet --no-deps --only-binary=:all: -d "$WHEELS" --python-version "$py" \
            --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 PyYAML multiprocess hypothesis
    done
    ls "$WHEELS" | wc -l | xargs echo "wheels in $WHEELS:"
    du -sh "$WHEELS"
    exit 0
fi

echo "== machine: $(date -Iseconds); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"

missing=$(python - <<'EOF'
import importlib.util
mods = {"hydra": "hydra-core", "omegaconf": "omegaconf", "antlr4": "antlr4-python3-runtime", "yaml": "PyYAML",
        "rich": "rich", "SALib": "SALib", "multiprocess": "multiprocess", "h5netcdf": "h5netcdf",
        "pytest": "pytest", "hypothesis": "hypothesis", "submitit": "submitit", "joblib": "joblib",
        "cloudpickle": "cloudpickle", "hydra_plugins.hydra_joblib_launcher": "hydra-joblib-launcher",
        "hydra_plugins.hydra_submitit_launcher": "hydra-submitit-launcher"}
def found(mod):
    try:
        return importlib.util.find_spec(mod) is not None
    except ModuleNotFoundError:
        return False
print(" ".join(pkg for mod, pkg in mods.items() if not found(mod)))
EOF
)
if [[ -n "$missing" ]]; then
    if [[ ! -d "$WHEELS" ]]; then
        echo "missing: $missing; and no $WHEELS (run 'bash benchmarks/gpu.sh fetch' where there is network)" >&2
        exit 2
    fi
    echo "== installing from $WHEELS (no network): $missing"
    # shellcheck disable=SC2086
    python -m pip install --quiet --no-index --find-links "$WHEELS" $missing
fi

python - <<'EOF'
import os, sys
import jax
devices = jax.devices()
print("== JAX", jax.__version__, "devices:", devices)
if devices[0].platform != "gpu" and not os.environ.get("GPU_ALLOW_CPU"):
    sys.exit("no GPU visible to JAX (set GPU_ALLOW_CPU=1 to run on CPU anyway)")
EOF

# GPU: one chunk of up to 1e6 paths per call (launch-bound below ~1e5); the full 36-month horizon is cheap there.
if [[ "${1:-}" != "test" ]]; then
    # shellcheck disable=SC2086
    python benchmarks/throughput.py ${GPU_BENCH_ARGS:---sizes 1e4 1e5 1e6 --chunk-size 1000000 --horizon-months 36 --no-end-to-end}
fi

if [[ -z "${GPU_SKIP_TESTS:-}" && "${1:-}" != "bench" ]]; then
    echo "== test suite"
    # shellcheck disable=SC2086
    python -m pytest -q -p no:cacheprovider ${GPU_TEST_ARGS:-}
fi
