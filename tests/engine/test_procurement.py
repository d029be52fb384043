"""Procurement policies, exact with all priors fixed (``flat``, see ``test_costs``: 240 GPU-h/day flat, GPU $30,000
on a flat index, 1.05 kW/GPU, facility $60/kW-month, staff 0.5 FTE at $230,000, resale retention 0.675/yr less a
15% fee, no failures, no lead time unless set, 12 months, no discounting): a schedule, the base-stock rule, leases,
sales, several pending orders (:mod:`simulator.engine.procurement`)."""

import numpy as np
import pytest
from conftest import error_for, fixed, run_config, strategy

from simulator.config.schema import BaseStockConfig, ProcurementConfig, ScheduleConfig
from tests.engine.test_costs import category, lean

GPU, KW, SALARY, RHO, FEE = 30_000.0, 1.05, 230_000.0, 0.675, 0.15
MONTH = 365.25 / 12


def installed(out, s):
    """Owned GPUs installed at each month's end (no failures: up = installed), (months,) of path 0."""
    return out["owned_gpus_up"][0, s]


def test_schedule_buys_what_it_says_when_it_says(flat):
    """Orders at months 0, 3 and 7 (t=0, and the ends of months 2 and 6), no lead time: installed from the first
    step of each month; capex = sum g_i x $30,000 M_{t_i}^0.5 with the index drifting (flat: volatility 0)."""
    lean(flat).priors.market.drift_per_year = fixed(0.2)
    schedule = ScheduleConfig(order_months=[0, 3, 7], order_gpus=[8, 16, 8])
    flat.strategies = {"scheduled": strategy(("owned", 0), ("on_demand", 1024),
                                             procurement=ProcurementConfig(schedule=schedule))}
    out, _, _ = run_config(flat, 2)
    expected = np.array([8] * 3 + [24] * 4 + [32] * 5, float)
    np.testing.assert_array_equal(installed(out, 0), expected)
    index = out["price_index"][0]  # at each month's end, where the month-end order is quoted
    capex = GPU * (8 + 16 * index[2] ** 0.5 + 8 * index[6] ** 0.5)
    np.testing.assert_allclose(category(out, 0, "capex"), capex, rtol=1e-6)
    assert index[6] > 1.05  # the index moved: the quotes differ from t=0's


def test_base_stock_keeps_the_target(flat):
    """Zero lead time, 240 GPU-h/day flat (growth 1): forecast 240 / 24 = 10 GPUs. Coverage 1.5 in tranches of 8:
    16 GPUs; coverage 2 in tranches of 4: 20; a trigger above the target: none. Ordered at the end of month 0,
    delivered on the next step, held every month after the first."""
    lean(flat).strategies = {
        name: strategy(("owned", 0), ("on_demand", 1024), procurement=ProcurementConfig(base_stock=stock))
        for name, stock in (("c1.5", BaseStockConfig(coverage=1.5, tranche_gpus=8)),
                            ("c2", BaseStockConfig(coverage=2.0, tranche_gpus=4)),
                            ("trigger", BaseStockConfig(coverage=1.5, trigger_gpus=20.0)))}
    out, _, _ = run_config(flat, 2)
    for s, target in enumerate((16.0, 20.0, 0.0)):
        np.testing.assert_array_equal(installed(out, s), [0.0] + [target] * 11)
        np.testing.assert_allclose(category(out, s, "capex"), target * GPU, rtol=1e-6)


def test_lease_pays_for_its_term_then_returns(flat):
    """16 GPUs leased for 6 months, delivered at t=0: LRF 0.033 x $30,000 x 16 a month for exactly 6 months, no
    capex, no resale; the GPUs leave at the start of month 6 and staff stops with them."""
    lean(flat).priors.owned.lease_rate_factor_per_month = fixed(0.033)
    flat.strategies = {"leased": strategy(("owned", 16), ("on_demand", 1024),
                                          procurement=ProcurementConfig(financing="lease", lease_term_months=6))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "lease"), 0.033 * GPU * 16 * 6, rtol=1e-5)
    np.testing.assert_allclose(category(out, 0, "capex"), 0.0, atol=1e-6)
    np.testing.assert_allclose(category(out, 0, "residual"), 0.0, atol=1e-6)
    np.testing.assert_array_equal(installed(out, 0), [16.0] * 6 + [0.0] * 6)
    np.testing.assert_allclose(category(out, 0, "staff"), 0.5 * SALARY / 2, rtol=1e-5)


def test_selling_credits_the_resale_value_and_ends_owning_costs(flat):
    """Sell 16 GPUs (bought at t=0) at the end of month 5: credited (1 - 0.15) x $30,000 x 0.675^{0.5} x 16; no
    residual at the horizon; staff and facility stop after six months."""
    lean(flat).strategies = {"sold": strategy(("owned", 16), ("on_demand", 1024),
                                              procurement=ProcurementConfig(sell_month=5))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(category(out, 0, "residual"), -(1 - FEE) * GPU * RHO ** 0.5 * 16, rtol=1e-5)
    np.testing.assert_array_equal(installed(out, 0), [16.0] * 6 + [0.0] * 6)
    np.testing.assert_allclose(category(out, 0, "staff"), 0.5 * SALARY / 2, rtol=1e-5)
    np.testing.assert_allclose(category(out, 0, "facility"), 16 * KW * 60.0 * 6, rtol=1e-5)


def test_selling_tranches_below_utilisation(flat):
    """32 GPUs for 10 GPUs of work (252 / 768 = 0.33 busy): below 0.5 for 2 months sells 8 at the end of months
    1 and 3 (24 GPUs: 0.44, still below; 16: 0.66, kept); each sale credits 8 GPUs' resale value then, the rest is
    credited at the horizon."""
    lean(flat).strategies = {"trim": strategy(("owned", 32), procurement=ProcurementConfig(
        sell_below_utilisation=0.5, months_below=2, base_stock=BaseStockConfig(tranche_gpus=8)))}
    out, _, _ = run_config(flat, 2)
    np.testing.assert_array_equal(installed(out, 0), [32.0] * 2 + [24.0] * 2 + [16.0] * 8)
    years = np.array([2, 4]) * MONTH / 365.25
    residual = -(1 - FEE) * GPU * (8 * RHO ** years[0] + 8 * RHO ** years[1] + 16 * RHO)
    np.testing.assert_allclose(category(out, 0, "residual"), residual, rtol=1e-5)


@pytest.mark.parametrize("slots", [4, 1])
def test_several_pending_orders_each_delivered_on_its_day(flat, slots):
    """Orders of 8 GPUs at months 1 and 2 with a 10-week lead time: with 4 slots both are pending from day 60.9,
    delivered on days 30.4 + 70 and 60.9 + 70 (the first steps at or after them); facility pays each from its
    delivery. With one slot the second waits (the slot is taken until day 100.4) and is ordered at the end of
    month 3 (day 121.75), delivered on day 191.75."""
    lean(flat).priors.owned.lead_time_weeks = fixed(10.0)
    flat.engine.max_pending_orders = slots
    schedule = ScheduleConfig(order_months=[1, 2], order_gpus=[8, 8])
    flat.strategies = {"two": strategy(("owned", 0), ("on_demand", 1024),
                                       procurement=ProcurementConfig(schedule=schedule))}
    out, _, grid = run_config(flat, 2)
    second = 2 * MONTH + 70.0 if slots > 1 else 4 * MONTH + 70.0
    days = np.ceil(np.array([MONTH + 70.0, second]) / grid.dt_days - 1e-6) * grid.dt_days
    horizon = 12 * MONTH
    np.testing.assert_allclose(category(out, 0, "facility"), 8 * KW * 60.0 * np.sum(horizon - days) / MONTH,
                               rtol=1e-5)
    np.testing.assert_allclose(category(out, 0, "capex"), 16 * GPU, rtol=1e-6)
    months = np.arange(12)
    month_end = (months + 1) * MONTH
    expected = 8.0 * (month_end > days[0] + 1e-6) + 8.0 * (month_end > days[1] + 1e-6)
    np.testing.assert_array_equal(installed(out, 0), expected)


@pytest.mark.parametrize(("override", "message"), [
    ("strategies.onprem.procurement.schedule.order_months=[0,12]", "must have as many as order_months"),
    ("strategies.onprem.procurement.schedule.order_gpus=[8]", "must have as many as order_months (0)"),
    ("strategies.onprem.procurement.base_stock.coverage=-1", "must be >= 0"),
    ("strategies.onprem.procurement.financing=rent", "must be one of buy, lease"),
    ("strategies.on_demand.procurement.base_stock.coverage=1", "needs an owned pool"),
    ("strategies.onprem.procurement.sell_month=100", "must be < the horizon"),
])
def test_procurement_errors(override, message):
    line = error_for(["scenario=hybrid", override])
    assert message in line and "procurement" in line


def test_negative_schedule_entries_are_rejected():
    line = error_for(["scenario=hybrid", "strategies.onprem.procurement.schedule.order_months=[-1]",
                      "strategies.onprem.procurement.schedule.order_gpus=[8]"])
    assert "order_months[0] = -1: must be a whole number >= 0" in line


def test_strategy_files_compose():
    """conf/strategy/rent_then_buy.yaml (base stock from zero, on-demand bridge) and onprem_leased.yaml (onprem's
    32 GPUs leased for 36 months) load and validate in a scenario."""
    from simulator.config.load import load_config

    cfg = load_config(["scenario=hybrid", "+strategy@strategies.rent_then_buy=rent_then_buy",
                       "+strategy@strategies.onprem_leased=onprem_leased"])
    rent, leased = cfg.strategies["rent_then_buy"], cfg.strategies["onprem_leased"]
    assert rent.pools["owned"].gpus == 0 and rent.procurement.base_stock.coverage == 0.8
    assert leased.procurement.financing == "lease" and leased.procurement.lease_term_months == 36
    assert leased.pools["owned"].gpus == cfg.strategies["onprem"].pools["owned"].gpus
