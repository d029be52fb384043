"""Cost identities on deterministic configurations worked out by hand.

Pinned priors (see ``conftest.pinned``): demand D = 240 GPU-h/day flat, on-demand $5.40/GPU-h, index flat at 1,
checkpoint every tau = 1 h costing C = 0.05 h (wall = useful x 1.05), GPU $30,000 (loading 0.5 on a flat index),
1.05 kW/GPU, PUE 1.55, $0.09/kWh, idle power 0.3, facility $60/kW-month, 0.75 FTE per 100 GPUs (min 0.5) at
$230,000/yr, resale retention 0.675/yr less a 15% sale fee, no failures, no lead time, 12-month horizon (365.25 days).
:func:`lean` also removes the costs that :mod:`tests.engine.test_ownership_costs` checks (support, fabric, build-out,
cloud operations, the dataset), so these identities stay about usage, power, facility, staff and resale.
"""

import numpy as np
from conftest import fixed, run_config, strategy

from simulator.config.schema import RunConfig
from simulator.engine.strategies import CATEGORY_INDEX, SHORTFALL_CATEGORIES, SPEND_CATEGORIES


def category(out, strategy_index, name, kind="cash_by_category"):
    return out[kind][:, strategy_index, CATEGORY_INDEX[name]]


def lean(cfg):
    """No support, fabric, build-out, cloud operations or dataset (each checked on its own elsewhere)."""
    for group, name in (("owned", "support_share_per_year"), ("owned", "fabric_usd_per_gpu"),
                        ("onprem", "buildout_usd_per_kw"), ("colo", "buildout_usd_per_kw"),
                        ("operations", "cloud_min_fte"), ("operations", "cloud_support_share"),
                        ("storage", "dataset_tb")):
        setattr(getattr(cfg.priors, group), name, fixed(0.0))
    return cfg


def test_on_demand_cost_by_hand(flat):
    lean(flat).strategies = {"cloud": strategy(("on_demand", 1024))}
    out, _, _ = run_config(flat, 4)
    # 240 GPU-h/day x 365.25 days x 1.05 (checkpoint overhead) x $5.40
    np.testing.assert_allclose(out["cost"][:, 0], 497_032.2, rtol=1e-5)
    np.testing.assert_allclose(out["shortfall"][:, 0], 0.0, atol=1e-3)
    np.testing.assert_allclose(out["delay"][:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(out["delivered_gpu_hours"][:, 0], 240.0 * 365.25, rtol=1e-5)


def test_on_demand_discounting(flat):
    lean(flat).engine.discount_rate_per_year = 0.1
    flat.strategies = {"cloud": strategy(("on_demand", 1024))}
    out, _, grid = run_config(flat, 2)
    t_mid = (np.arange(12 * grid.steps_per_month) + 0.5) * grid.dt_days
    expected = np.sum(240.0 * grid.dt_days * 1.05 * 5.4 * 1.1 ** (-t_mid / 365.25))
    np.testing.assert_allclose(out["cost"][:, 0], expected, rtol=1e-5)


def test_owned_cost_by_hand(flat):
    lean(flat).strategies = {"owned": strategy(("owned", 16))}
    out, _, _ = run_config(flat, 4)
    by_hand = {
        "capex": 16 * 30_000.0,
        # (busy 252 x (1 - 0.3) + 0.3 x 384 up GPU-h/day) x 1.05 kW x 1.55 x $0.09 x 365.25 days
        "power": (252.0 * 0.7 + 0.3 * 384.0) * 1.05 * 1.55 * 0.09 * 365.25,
        "facility": 16 * 1.05 * 60.0 * 12,  # 16 GPUs x 1.05 kW x $60/kW-month x 12 months
        "staff": 0.5 * 230_000.0,  # max(0.5, 0.75 x 16 / 100) FTE x 1 year
        "residual": -16 * 30_000.0 * 0.675 * (1 - 0.15),  # resale after one year, less the sale fee
        "on_demand": 0.0,
        "spot": 0.0,
        "cloud_ops": 0.0,  # no rented pool
    }
    for name, value in by_hand.items():
        np.testing.assert_allclose(category(out, 0, name), value, rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(out["cost"][:, 0], sum(by_hand.values()), rtol=1e-5)
    assert np.all(out["delay"][:, 0] < 1e-9)


def test_training_run_on_demand(flat):
    lean(flat).priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.runs = {"big": RunConfig(gpu_hours=fixed(10_000.0), gpus=32, start_day=20.0, deadline_day=30.0,
                                  late_usd_per_day=fixed(1000.0))}
    flat.strategies = {"cloud": strategy(("on_demand", 1024)), "small": strategy(("owned", 16))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "on_demand"), 10_000 * 1.05 * 5.4, rtol=1e-5)
    finish = 20.0 + 10_000 * 1.05 / (32 * 24)  # 33.67 days
    np.testing.assert_allclose(out["run_finish_day"][:, 0, 0], finish, rtol=1e-5)
    np.testing.assert_allclose(out["run_lateness_days"][:, 0, 0], finish - 30.0, rtol=1e-4)
    np.testing.assert_allclose(category(out, 0, "late_runs"), 1000.0 * (finish - 30.0), rtol=1e-4)
    # 16 owned GPUs can never host a 32-GPU run: it never starts, and is reported late and unfinished
    assert not out["run_completed"][:, 1, 0].any()
    assert np.all(out["run_lateness_days"][:, 1, 0] > 300)
    np.testing.assert_allclose(out["delivered_gpu_hours"], [[10_000.0, 0.0]] * 2, rtol=1e-5)


def test_hybrid_bursts_only_above_base(flat):
    """Owned base of 8 GPUs (192 GPU-h/day of wall) under 252 GPU-h/day of wall demand: 60/day go to the cloud."""
    lean(flat).strategies = {"hybrid": strategy(("owned", 8), ("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "on_demand"), 60.0 * 365.25 * 5.4, rtol=1e-4)


def test_cost_is_spend_plus_shortfall(hybrid):
    """On the full hybrid scenario (every prior uncertain): spend and shortfall are the sums of their categories and
    cost (the cost of service) their sum, path by path; the cash view holds the same categories undiscounted."""
    hybrid.engine.horizon_months = 6
    out, _, _ = run_config(hybrid, 8)
    columns = lambda names: [CATEGORY_INDEX[c] for c in names]  # noqa: E731
    pv = out["cost_by_category"]
    np.testing.assert_allclose(out["spend"], pv[..., columns(SPEND_CATEGORIES)].sum(-1), rtol=1e-12)
    np.testing.assert_allclose(out["shortfall"], pv[..., columns(SHORTFALL_CATEGORIES)].sum(-1), rtol=1e-12)
    np.testing.assert_allclose(out["cost"], out["spend"] + out["shortfall"], rtol=1e-12)
    assert np.all(out["shortfall"] > 0.0)  # the training runs of the scenario pay lateness or at least some delay
    cash = out["cash_by_category"][..., columns(SHORTFALL_CATEGORIES)]
    assert np.all(cash >= pv[..., columns(SHORTFALL_CATEGORIES)] - 1e-3)  # discounting only shrinks
