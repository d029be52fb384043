"""The full cost of owning and renting, exact on fixed fleets with all priors fixed (``flat``, see ``test_costs``):
support after the first year (an in-month delivery day included), fabric, build-out, the colocation commitment,
staff, cloud operations, and the dataset's storage and egress (one charge per copy, and its growth)."""

import numpy as np
from conftest import fixed, run_config, strategy

from simulator.engine.strategies import CATEGORY_INDEX
from tests.engine.test_costs import category, lean

GPU, KW, SALARY = 30_000.0, 1.05, 230_000.0


def test_support_fabric_buildout_staff_of_a_fixed_fleet(flat):
    """16 owned GPUs delivered on the first step at or after 14 days (lead time 2 weeks), 24 months: support
    12%/yr of the purchase price from delivery + 365.25 days to the horizon; fabric $1,900 and build-out $3,000/kW per
    GPU at delivery; staff max(0.5, 0.75 x 16 / 100) FTE from delivery on."""
    lean(flat).engine.horizon_months = 24
    flat.priors.owned.lead_time_weeks = fixed(2.0)
    flat.priors.owned.support_share_per_year = fixed(0.12)
    flat.priors.owned.fabric_usd_per_gpu = fixed(1900.0)
    flat.priors.onprem.buildout_usd_per_kw = fixed(3000.0)
    flat.strategies = {"owned": strategy(("owned", 16))}
    out, _, grid = run_config(flat, 2)
    delivery = np.ceil(14.0 / grid.dt_days - 1e-9) * grid.dt_days
    horizon = 24 * 365.25 / 12
    np.testing.assert_allclose(category(out, 0, "support"), 0.12 * 16 * GPU * (horizon - delivery - 365.25) / 365.25,
                               rtol=1e-4)
    np.testing.assert_allclose(category(out, 0, "fabric"), 16 * 1900.0, rtol=1e-6)
    np.testing.assert_allclose(category(out, 0, "buildout"), 16 * 3000.0 * KW, rtol=1e-6)
    np.testing.assert_allclose(category(out, 0, "staff"), 0.5 * SALARY * (horizon - delivery) / 365.25, rtol=1e-4)
    np.testing.assert_allclose(category(out, 0, "capex"), 16 * GPU, rtol=1e-6)


def test_colocation_commitment_and_cloud_operations(flat):
    """Colocation: 16 x 1.05 = 16.8 kW installed, billed at the 30 kW commitment ($250/kW-month, retail) plus $1,000 a
    month, no build-out; staff max(0.25, 0.5 x 16 / 100) FTE. On-demand: 0.2 FTE of cloud operations a year plus
    6.5% of the rental spend; an owned-only strategy pays none."""
    lean(flat).priors.colo.buildout_usd_per_kw = fixed(0.0)
    flat.priors.colo.facility_usd_per_kw_month = fixed(250.0)
    flat.priors.operations.cloud_min_fte = fixed(0.2)
    flat.priors.operations.cloud_support_share = fixed(0.065)
    flat.strategies = {"colo": strategy(("owned", 16, {"hosting": "colo"})), "cloud": strategy(("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "facility"), (30.0 * 250.0 + 1000.0) * 12, rtol=1e-5)
    np.testing.assert_allclose(category(out, 0, "staff"), 0.25 * SALARY, rtol=1e-5)
    np.testing.assert_allclose(category(out, 0, "buildout"), 0.0, atol=1e-6)
    np.testing.assert_allclose(category(out, 0, "cloud_ops"), 0.0, atol=1e-6)
    rental = 240.0 * 365.25 * 1.05 * 5.4
    np.testing.assert_allclose(category(out, 1, "on_demand"), rental, rtol=1e-5)
    np.testing.assert_allclose(category(out, 1, "cloud_ops"), 0.2 * SALARY + 0.065 * rental, rtol=1e-5)


def test_dataset_storage_and_one_egress_per_copy(flat):
    """50 TB kept in the cloud ($60/TB-month): the cloud strategy pays storage only; owned-only work makes one copy
    on-prem ($15/TB-month) on the first step, paying the cloud's $90/TB egress once; the hybrid (owned + on-demand)
    holds the same copy; with the home on-prem, the cloud copy's egress is free (on-prem charges none)."""
    lean(flat).priors.storage.dataset_tb = fixed(50.0)
    flat.priors.storage.growth_multiplier_per_year = fixed(1.0)
    flat.strategies = {"cloud": strategy(("on_demand", 1024)), "owned": strategy(("owned", 16)),
                       "hybrid": strategy(("owned", 8), ("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    expected = {"cloud": (50 * 60 * 12, 0.0), "owned": (50 * 75 * 12, 90.0 * 50), "hybrid": (50 * 75 * 12, 90.0 * 50)}
    for s, (storage, data) in enumerate(expected.values()):
        np.testing.assert_allclose(category(out, s, "storage"), storage, rtol=1e-5)
        np.testing.assert_allclose(category(out, s, "data"), data, rtol=1e-5, atol=1e-6)
    flat.data.home = "onprem"
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "storage"), 50 * 75 * 12, rtol=1e-5)
    np.testing.assert_allclose(out["cash_by_category"][:, :, CATEGORY_INDEX["data"]], 0.0, atol=1e-6)


def test_dataset_growth_egress(flat):
    """Growing 1.5x a year: storage sum_t D_t $/TB-month dt / month, and the on-prem copy made at t=0 pays egress on
    D_0 and on every step's growth, D_T = 75 TB in all."""
    lean(flat).priors.storage.dataset_tb = fixed(50.0)
    flat.priors.storage.growth_multiplier_per_year = fixed(1.5)
    flat.strategies = {"owned": strategy(("owned", 16))}
    out, _, grid = run_config(flat, 2)
    t = np.arange(12 * grid.steps_per_month) * grid.dt_days
    d_t = 50.0 * 1.5 ** (t / 365.25)
    np.testing.assert_allclose(category(out, 0, "storage"), np.sum(d_t * 75.0 * grid.dt_days / (365.25 / 12)),
                               rtol=1e-5)
    np.testing.assert_allclose(category(out, 0, "data"), 90.0 * 75.0, rtol=1e-5)
