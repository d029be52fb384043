"""Reserved (committed) capacity, exact with every prior fixed (:mod:`simulator.engine.reserved`).

As in :mod:`tests.engine.test_costs`: demand 240 GPU-h/day flat (252 wall GPU-h/day with checkpoints, 10.5 GPUs),
on-demand $5.40/GPU-h, 12 months of 365.25/12 days, no discounting unless said; cloud operations and the dataset
are off unless said. Reserved priors fixed: 1-year discount 0.4, 3-year 0.6, block 0.25, resale fill 0.5 and fee 0.1,
spot discount 0.6.
"""

import math

import numpy as np
import pytest
from conftest import fixed, pinned, run_config, strategy

from simulator.config.errors import ConfigError, error_line
from simulator.config.load import load_config
from simulator.config.schema import DataPolicy, SweepConfig
from simulator.config.sweeps import expand_sweeps
from simulator.engine.reserved import discount
from simulator.engine.strategies import CATEGORY_INDEX, strategy_table

OD, H, MONTH_HOURS = 5.4, 24 * 365.25, 24 * 365.25 / 12  # on-demand $/GPU-h; hours in a year, in a month
WALL_PER_DAY = 252.0  # 240 GPU-h/day x 1.05 (checkpoint every hour at 0.05 h)
D1, D3, DB, FILL, FEE, SPOT = 0.4, 0.6, 0.25, 0.5, 0.1, 0.6
PRICE_1Y = (1 - D1) * OD


def flat_config(**priors):
    """The flat configuration (see the module docstring), with ``reserved`` priors fixed, or overridden."""
    cfg = pinned(load_config(["scenario=hybrid"]))
    cfg.engine.horizon_months, cfg.engine.discount_rate_per_year, cfg.runs = 12, 0.0, {}
    values = dict(base_gpu_hours_per_day=240.0, growth_multiplier_per_year=1.0, discount_1y=D1, discount_3y=D3,
                  block_discount=DB, resale_fill_fraction=FILL, resale_fee_share=FEE,
                  cloud_min_fte=0.0, cloud_support_share=0.0, dataset_tb=0.0)
    values.update(priors)
    cfg.providers["hyperscaler"].spot_discount = fixed(values.pop("spot_discount", SPOT))
    for name, value in values.items():
        group = next(g for g in ("workload", "reserved", "market", "operations", "storage")
                     if hasattr(getattr(cfg.priors, g), name))
        setattr(getattr(cfg.priors, group), name, fixed(value))
    return cfg


def reserved(gpus, serves=("light", "heavy", "runs"), **knobs):
    return ("reserved", gpus, dict(serves=list(serves), **knobs))


def cash(out, s, name):
    return out["cash_by_category"][:, s, CATEGORY_INDEX[name]]


@pytest.fixture(scope="module")
def flat_run():
    """One run of the strategies the exact tests below read (one compilation)."""
    cfg = flat_config()
    cfg.strategies = {
        "idle": strategy(reserved(16, serves=()), ("on_demand", 1024)),
        "busy": strategy(reserved(16), ("on_demand", 1024)),
        "exit": strategy(reserved(16, exit_month=6, exit_fee_share=0.5), ("on_demand", 1024)),
        "resell": strategy(reserved(16, resell_idle=True), ("on_demand", 1024)),
        "block": strategy(reserved(16, block=True, start_month=3, term_months=2), ("on_demand", 1024)),
        "late": strategy(reserved(16, start_month=4, term_months=6), ("on_demand", 1024)),
    }
    out, _, _ = run_config(cfg, 2)
    return {name: i for i, name in enumerate(cfg.strategies)}, out


def test_discount_by_term():
    d = lambda months: float(discount(np.float32(months), np.float32(D1), np.float32(D3)))  # noqa: E731
    assert d(12) == pytest.approx(D1) and d(36) == pytest.approx(D3) and d(72) == pytest.approx(D3)
    assert d(6) == pytest.approx(D1 + (D3 - D1) * math.log(0.5) / math.log(3.0), rel=1e-6)
    assert d(24) == pytest.approx(D1 + (D3 - D1) * math.log(2.0) / math.log(3.0), rel=1e-6)
    assert d(1) == pytest.approx(max(0.0, D1 + (D3 - D1) * math.log(1 / 12) / math.log(3.0)), abs=1e-7)
    assert float(discount(np.float32(1), np.float32(0.1), np.float32(0.5))) == 0.0  # floored at 0


def test_take_or_pay_used_or_not(flat_run):
    s, out = flat_run
    committed = 16 * H * PRICE_1Y  # GPUs x hours x locked price
    for name in ("idle", "busy"):
        np.testing.assert_allclose(cash(out, s[name], "reserved"), committed, rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(cash(out, s["idle"], "on_demand"), WALL_PER_DAY * 365.25 * OD, rtol=1e-5)
    np.testing.assert_allclose(cash(out, s["busy"], "on_demand"), 0.0, atol=1e-3)  # 10.5 of 16 GPUs used
    np.testing.assert_allclose(out["delay"], 0.0, atol=1e-9)


def test_early_exit_pays_the_fee_and_capacity_stops(flat_run):
    s, out = flat_run
    six_months = 16 * 6 * MONTH_HOURS * PRICE_1Y
    np.testing.assert_allclose(cash(out, s["exit"], "reserved"), six_months + 0.5 * six_months, rtol=1e-5)
    # months 6-11 run on on-demand
    np.testing.assert_allclose(cash(out, s["exit"], "on_demand"), WALL_PER_DAY * 6 * 365.25 / 12 * OD, rtol=1e-5)


def test_resale_credit(flat_run):
    s, out = flat_run
    idle_hours = (16 * 24 - WALL_PER_DAY) * 365.25  # 132 idle GPU-h a day
    np.testing.assert_allclose(cash(out, s["resell"], "reserved_resale"),
                               -idle_hours * (1 - SPOT) * OD * FILL * (1 - FEE), rtol=1e-5)
    np.testing.assert_allclose(cash(out, s["resell"], "reserved"), 16 * H * PRICE_1Y, rtol=1e-5)
    np.testing.assert_allclose(cash(out, s["busy"], "reserved_resale"), 0.0, atol=1e-6)  # not resold


def test_capacity_block_paid_at_t0_and_serves_its_window(flat_run):
    s, out = flat_run
    np.testing.assert_allclose(cash(out, s["block"], "reserved"), 16 * 2 * MONTH_HOURS * (1 - DB) * OD, rtol=1e-5)
    # on-demand serves the 10 months outside the window
    np.testing.assert_allclose(cash(out, s["block"], "on_demand"), WALL_PER_DAY * 10 * 365.25 / 12 * OD, rtol=1e-5)


def test_commitment_starting_later(flat_run):
    s, out = flat_run
    d6 = D1 + (D3 - D1) * math.log(0.5) / math.log(3.0)
    np.testing.assert_allclose(cash(out, s["late"], "reserved"), 16 * 6 * MONTH_HOURS * (1 - d6) * OD, rtol=1e-5)
    np.testing.assert_allclose(cash(out, s["late"], "on_demand"), WALL_PER_DAY * 6 * 365.25 / 12 * OD, rtol=1e-5)


def test_renewal_reprices_at_the_then_current_price():
    """A fixed index drift ``mu`` (no volatility): ``M_t = e^{mu t}``; 6-month terms renewed at month 6 pay
    ``16 x 6 months x (1 - d(6)) x 5.40 x (1 + e^{mu / 2})``. A block's upfront payment is at t=0: PV = cash."""
    mu = -0.2
    cfg = flat_config(drift_per_year=mu)
    cfg.engine.discount_rate_per_year = 0.1
    cfg.strategies = {"renew": strategy(reserved(16, term_months=6, renew=True), ("on_demand", 1024)),
                      "block": strategy(reserved(16, block=True, start_month=6, term_months=3), ("on_demand", 1024))}
    out, _, _ = run_config(cfg, 2)
    c6 = (1 - (D1 + (D3 - D1) * math.log(0.5) / math.log(3.0))) * OD
    np.testing.assert_allclose(cash(out, 0, "reserved"), 16 * 6 * MONTH_HOURS * c6 * (1 + math.exp(mu / 2)),
                               rtol=1e-4)
    block = 16 * 3 * MONTH_HOURS * (1 - DB) * OD
    np.testing.assert_allclose(cash(out, 1, "reserved"), block, rtol=1e-5)
    np.testing.assert_allclose(out["cost_by_category"][:, 1, CATEGORY_INDEX["reserved"]], block, rtol=1e-5)


def test_support_share_and_data_policy():
    """Reserved charges are rented public-cloud spend: they pay the cloud support share; ``policy: exclude`` closes
    the pool (no commitment, no charge)."""
    cfg = flat_config(cloud_support_share=0.1)
    cfg.strategies = {"r": strategy(reserved(16), ("on_demand", 1024))}
    out, _, _ = run_config(cfg, 2)
    np.testing.assert_allclose(cash(out, 0, "cloud_ops"), 0.1 * 16 * H * PRICE_1Y, rtol=1e-5)
    table = strategy_table(cfg.strategies, DataPolicy(sensitive=True, policy="exclude"))
    assert float(table.gpus[0, 0]) == 0.0


def test_term_is_a_sweepable_leaf():
    cfg = load_config(["scenario=hybrid", "+strategy@strategies.r3=reserved_3y"])
    cfg.sweeps = {"term": SweepConfig(strategy="r3", knob="pools.commit.term_months", values=[12, 36])}
    strategies = expand_sweeps(cfg).strategies
    table, names = strategy_table(strategies), list(strategies)
    rows = [names.index(f"r3@pools.commit.term_months={v}") for v in (12, 36)]
    assert [float(table.term_months[r, 0]) for r in rows] == [12.0, 36.0]


@pytest.mark.parametrize("overrides, must_contain", [
    (["strategies.hybrid.pools.cloud.term_months=36"], ["strategies.hybrid.pools.cloud.term_months", "36",
                                                         "only reserved pools"]),
    (["+strategy@strategies.b=capacity_block", "strategies.b.pools.block.renew=true"],
     ["strategies.b.pools.block.renew", "non-cancellable"]),
    (["+strategy@strategies.b=capacity_block", "strategies.b.pools.block.exit_month=4"],
     ["strategies.b.pools.block.exit_month", "non-cancellable"]),
    (["+strategy@strategies.r=reserved_3y", "strategies.r.pools.commit.start_month=2",
      "strategies.r.pools.commit.exit_month=2"], ["strategies.r.pools.commit.exit_month", "2", "> start_month"]),
    (["+strategy@strategies.r=reserved_3y", "strategies.r.pools.commit.exit_month=36"],
     ["strategies.r.pools.commit.exit_month", "36", "< start_month + term_months (36)"]),
    (["+strategy@strategies.r=reserved_3y", "strategies.r.pools.commit.start_month=36"],
     ["strategies.r.pools.commit.start_month", "36", "horizon"]),
    (["+strategy@strategies.r=reserved_3y", "strategies.r.pools.commit.exit_fee_share=1.5"],
     ["strategies.r.pools.commit.exit_fee_share", "1.5", "<= 1"]),
])
def test_bad_reserved_input_is_one_clear_line(overrides, must_contain):
    with pytest.raises(ConfigError) as info:
        load_config(["scenario=hybrid", *overrides])
    line = error_line(info.value)
    assert "\n" not in line
    for text in must_contain:
        assert text in line, (text, line)


def test_strategy_files_compose():
    cfg = load_config(["scenario=hybrid", "+strategy@strategies.r1=reserved_1y",
                       "+strategy@strategies.r3=reserved_3y", "+strategy@strategies.block=capacity_block"])
    assert cfg.strategies["r1"].pools["commit"].renew and cfg.strategies["r3"].pools["commit"].term_months == 36
    assert cfg.strategies["block"].pools["block"].block
