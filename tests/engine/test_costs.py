"""Cost identities on deterministic configurations worked out by hand.

Pinned priors (see ``conftest.pinned``): demand D = 240 GPU-h/day flat, on-demand $5.40/GPU-h, index flat at 1,
checkpoint every tau = 1 h costing C = 0.05 h (wall = useful x 1.05), GPU $30,000 (loading 0.5 on a flat index),
1.05 kW/GPU, PUE 1.55, $0.09/kWh, idle power 0.3, facility $60/kW-month, 1.25 FTE per 100 GPUs (min 0.25) at
$117,676/yr, resale retention 0.675/yr, no failures, no lead time, 12-month horizon (365.25 days).
"""

import numpy as np
from conftest import fixed, run_config, strategy

from simulator.config.schema import RunConfig
from simulator.engine.strategies import CATEGORY_INDEX


def category(out, strategy_index, name):
    return out["cash_by_category"][:, strategy_index, CATEGORY_INDEX[name]]


def test_on_demand_cost_by_hand(flat):
    flat.strategies = {"cloud": strategy(("on_demand", 1024))}
    out, _, _ = run_config(flat, 4)
    # 240 GPU-h/day x 365.25 days x 1.05 (checkpoint overhead) x $5.40
    np.testing.assert_allclose(out["cost"][:, 0], 497_032.2, rtol=1e-5)
    np.testing.assert_allclose(out["delay"][:, 0], 0.0, atol=1e-9)


def test_on_demand_discounting(flat):
    flat.engine.discount_rate_per_year = 0.1
    flat.strategies = {"cloud": strategy(("on_demand", 1024))}
    out, _, grid = run_config(flat, 2)
    t_mid = (np.arange(12 * grid.steps_per_month) + 0.5) * grid.dt_days
    expected = np.sum(240.0 * grid.dt_days * 1.05 * 5.4 * 1.1 ** (-t_mid / 365.25))
    np.testing.assert_allclose(out["cost"][:, 0], expected, rtol=1e-5)


def test_owned_cost_by_hand(flat):
    flat.strategies = {"owned": strategy(("owned", 16))}
    out, _, _ = run_config(flat, 4)
    by_hand = {
        "capex": 16 * 30_000.0,
        # (busy 252 x (1 - 0.3) + 0.3 x 384 up GPU-h/day) x 1.05 kW x 1.55 x $0.09 x 365.25 days
        "power": (252.0 * 0.7 + 0.3 * 384.0) * 1.05 * 1.55 * 0.09 * 365.25,
        "facility": 16 * 1.05 * 60.0 * 12,  # 16 GPUs x 1.05 kW x $60/kW-month x 12 months
        "staff": 0.25 * 117_676.0,  # max(0.25, 1.25 x 16 / 100) FTE x 1 year
        "residual": -16 * 30_000.0 * 0.675,  # resale after one year
        "on_demand": 0.0,
        "spot": 0.0,
    }
    for name, value in by_hand.items():
        np.testing.assert_allclose(category(out, 0, name), value, rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(out["cost"][:, 0], sum(by_hand.values()), rtol=1e-5)
    assert np.all(out["delay"][:, 0] < 1e-9)


def test_training_run_on_demand(flat):
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.runs = {"big": RunConfig(gpu_hours=fixed(10_000.0), gpus=32, start_day=20.0, deadline_day=30.0)}
    flat.strategies = {"cloud": strategy(("on_demand", 1024)), "small": strategy(("owned", 16))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "on_demand"), 10_000 * 1.05 * 5.4, rtol=1e-5)
    finish = 20.0 + 10_000 * 1.05 / (32 * 24)  # 33.67 days
    np.testing.assert_allclose(out["run_finish_day"][:, 0, 0], finish, rtol=1e-5)
    np.testing.assert_allclose(out["run_lateness_days"][:, 0, 0], finish - 30.0, rtol=1e-4)
    # 16 owned GPUs can never host a 32-GPU run: it never starts, and is reported late and unfinished
    assert not out["run_completed"][:, 1, 0].any()
    assert np.all(out["run_lateness_days"][:, 1, 0] > 300)


def test_hybrid_bursts_only_above_base(flat):
    """Owned base of 8 GPUs (192 GPU-h/day of wall) under 252 GPU-h/day of wall demand: 60/day go to the cloud."""
    flat.strategies = {"hybrid": strategy(("owned", 8), ("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "on_demand"), 60.0 * 365.25 * 5.4, rtol=1e-4)
