"""The NumPy reference model (benchmarks' baseline) agrees with the engine in distribution.

The two use different random numbers, so the comparison is statistical: for every strategy of ``scenario=hybrid``
and each of mean cost (the cost of service), spend and shortfall, mean delay, mean run lateness and P(a run is
late), delivered work, ``z = (m_engine - m_numpy) /
sqrt(se_engine^2 + se_numpy^2)`` must satisfy ``|z| < 4`` at fixed seeds (differences below float32 rounding
count as agreement). This keeps the benchmark's side-by-side
comparison honest: the NumPy code runs the same model.
"""

import numpy as np
import pytest
from conftest import run_config

from benchmarks.numpy_reference import reference_scope, simulate_numpy

PATHS = 3000


def _z(a: np.ndarray, b: np.ndarray) -> float:
    """z-score of the difference of two means; differences below float32 rounding (a backlog left at ~1e-9 GPU-hours
    by the engine's float32 arithmetic, where float64 NumPy leaves ~1e-18) count as agreement."""
    gap = a.mean() - b.mean()
    if abs(gap) <= 1e-6 * max(1.0, abs(a.mean()), abs(b.mean())):
        return 0.0
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float(gap / se) if se > 0.0 else np.inf


@pytest.fixture(scope="module")
def both():
    from simulator.config.load import load_config

    cfg = reference_scope(load_config(["scenario=hybrid", "engine.horizon_months=12"]))
    assert {"on_demand", "neocloud", "spot", "onprem", "hybrid"} <= set(cfg.strategies)
    engine, _, _ = run_config(cfg, PATHS, seed=7)
    numpy = simulate_numpy(cfg, PATHS, seed=8)
    return list(cfg.strategies), engine, numpy


@pytest.mark.parametrize(
    "metric",
    ["cost", "spend", "shortfall", "delay", "run_lateness_days", "late", "owned_failures", "spot_interruptions",
     "on_demand", "spot", "delivered_gpu_hours"],
)
def test_engine_agrees_with_numpy_reference(both, metric):
    names, engine, numpy = both

    def values(out, i):
        if metric == "late":
            return (out["run_lateness_days"][:, i, 0] > 0).astype(float)
        if metric == "run_lateness_days":
            return out[metric][:, i, 0]
        if metric in ("on_demand", "spot"):
            column = {"on_demand": 0, "spot": 1}[metric]
            return out["cost_by_category"][:, i, column]
        return out[metric][:, i]

    for i, name in enumerate(names):
        z = _z(values(engine, i), values(numpy, i))
        assert abs(z) < 4, (name, metric, z, values(engine, i).mean(), values(numpy, i).mean())


def test_reference_refuses_kinds_it_does_not_model():
    from simulator.config.load import load_config

    cfg = load_config(["scenario=bootstrap"])
    with pytest.raises(ValueError, match=r"strategies\.\w+\.pools\.\w+: kind '\w+'.*outside the NumPy reference"):
        simulate_numpy(cfg, 8)
    hybrid = reference_scope(load_config(["scenario=hybrid", "data.sensitive=true"]))
    with pytest.raises(ValueError, match="data.sensitive = true: the NumPy reference has no data policy"):
        simulate_numpy(hybrid, 8)
