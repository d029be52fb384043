"""GPU generations: work in reference (H100 SXM) GPU-hours, each pool's GPU type scaling its work, price and power.

Exact identities with every prior pinned (``conftest.pinned``, flat 240 GPU-h/day demand, no interruptions, no
lead time, a flat price index, no discounting): a run of ``G`` reference GPU-hours on ``w`` GPUs of throughput ``f``
finishes after ``G / (w f 24 eff)`` days (``eff = tau / (tau + C)``); steady work ``B`` takes ``B / (f eff)`` wall
GPU-hours; a rented pool pays its provider's H100 price times the type's ``rent_price_ratio``; an owned GPU costs
``purchase_price_ratio`` times the H100 price and draws ``power_ratio`` times ``owned.kw_per_gpu``.
"""

import dataclasses

import jax
import numpy as np
import pytest
from conftest import central_value, fixed, run_config, strategy

from simulator.config.errors import ConfigError
from simulator.config.load import load_config
from simulator.config.schema import RunConfig
from simulator.config.validate import check
from simulator.engine._constants import DAYS_PER_MONTH, HOURS_PER_DAY
from simulator.engine.host import build_inputs
from simulator.engine.strategies import CATEGORY_INDEX, strategy_table

RUN_GPU_HOURS, RUN_GPUS = 1920.0, 8
MONTHS = 2


def cash(out, s, name):
    return out["cash_by_category"][:, s, CATEGORY_INDEX[name]]


def prior(cfg, key):
    if key.startswith("providers."):
        _, provider, name = key.split(".")
        return central_value(getattr(cfg.providers[provider], name))
    group, name = key.split(".")
    return central_value(getattr(getattr(cfg.priors, group), name))


@pytest.fixture(scope="module")
def typed():
    """One run of seven strategies, one GPU type each, on pinned priors (one compile for the module)."""
    from conftest import pinned

    cfg = pinned(load_config(["scenario=hybrid"]))
    cfg.engine.horizon_months = MONTHS
    cfg.engine.discount_rate_per_year = 0.0
    cfg.priors.workload.base_gpu_hours_per_day = fixed(240.0)
    cfg.priors.workload.growth_multiplier_per_year = fixed(1.0)
    cfg.runs = {"train": RunConfig(gpu_hours=fixed(RUN_GPU_HOURS), gpus=RUN_GPUS, start_day=0.0, deadline_day=50.0)}
    cfg.strategies = {
        "od_h100": strategy(("on_demand", 1024)),
        "od_a100": strategy(("on_demand", 1024, {"gpu": "a100"})),
        "od_b200": strategy(("on_demand", 1024, {"gpu": "b200"})),
        "spot_a100": strategy(("spot", 1024, {"gpu": "a100"})),
        "own_h100": strategy(("owned", 64)),
        "own_b200": strategy(("owned", 64, {"gpu": "b200"})),
        "notebook_t4": strategy(("notebook", 4, {"gpu": "t4", "serves": ["light"]}), ("on_demand", 1024)),
    }
    check(cfg)
    out, _, _ = run_config(cfg, 2)
    return cfg, list(cfg.strategies), out


def efficiency(cfg):
    return 1.0 / (1.0 + prior(cfg, "workload.checkpoint_cost_hours"))  # tau = 1 h


def test_run_takes_one_over_f_of_the_wall_time(typed):
    cfg, names, out = typed
    eff = efficiency(cfg)
    for s, name in enumerate(names[:6]):
        f = cfg.gpus[cfg.strategies[name].pools[next(iter(cfg.strategies[name].pools))].gpu or "h100"].throughput
        expected = RUN_GPU_HOURS / (RUN_GPUS * f * HOURS_PER_DAY * eff)
        np.testing.assert_allclose(out["run_finish_day"][:, s, 0], expected, rtol=2e-5, err_msg=name)
    assert out["run_completed"].all()


def test_rented_work_and_price_scale(typed):
    """Wall GPU-hours are ``(G + D T) / (f eff)`` and each is paid ``r`` times the H100 price."""
    cfg, names, out = typed
    eff, horizon = efficiency(cfg), MONTHS * DAYS_PER_MONTH
    work = RUN_GPU_HOURS + 240.0 * horizon  # reference GPU-hours, all served
    od = prior(cfg, "providers.hyperscaler.on_demand_usd_per_gpu_hour")
    spot = (1.0 - prior(cfg, "providers.hyperscaler.spot_discount")) * od
    for name, category, price, gpu in (("od_h100", "on_demand", od, "h100"), ("od_a100", "on_demand", od, "a100"),
                                       ("od_b200", "on_demand", od, "b200"), ("spot_a100", "spot", spot, "a100")):
        row, s = cfg.gpus[gpu], names.index(name)
        expected = work / (row.throughput * eff) * price * row.rent_price_ratio
        np.testing.assert_allclose(cash(out, s, category), expected, rtol=2e-5, err_msg=name)
        np.testing.assert_allclose(out["delivered_gpu_hours"][:, s], work, rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(out["shortfall"][:, s], 0.0, atol=1e-2, err_msg=name)


def test_owned_capex_and_power_scale(typed):
    cfg, names, out = typed
    eff, hours = efficiency(cfg), MONTHS * DAYS_PER_MONTH * HOURS_PER_DAY
    work = RUN_GPU_HOURS + 240.0 * MONTHS * DAYS_PER_MONTH
    kwh_usd = prior(cfg, "owned.kw_per_gpu") * prior(cfg, "onprem.pue") * prior(cfg, "market.electricity_usd_per_kwh")
    idle, price = prior(cfg, "owned.idle_power_fraction"), prior(cfg, "market.hardware_usd_per_gpu")
    for name, gpu in (("own_h100", "h100"), ("own_b200", "b200")):
        row, s = cfg.gpus[gpu], names.index(name)
        np.testing.assert_allclose(cash(out, s, "capex"), 64 * price * row.purchase_price_ratio, rtol=1e-5)
        busy = work / (row.throughput * eff)
        power = (busy * (1.0 - idle) + idle * 64 * hours) * row.power_ratio * kwh_usd
        np.testing.assert_allclose(cash(out, s, "power"), power, rtol=2e-5, err_msg=name)
        kw = 64 * prior(cfg, "owned.kw_per_gpu") * row.power_ratio
        np.testing.assert_allclose(cash(out, s, "buildout"), prior(cfg, "onprem.buildout_usd_per_kw") * kw, rtol=1e-5)
        facility = kw * prior(cfg, "onprem.facility_usd_per_kw_month") + prior(cfg, "onprem.fixed_usd_per_month")
        np.testing.assert_allclose(cash(out, s, "facility"), facility * MONTHS, rtol=1e-5, err_msg=name)
    h100, b200 = names.index("own_h100"), names.index("own_b200")
    np.testing.assert_allclose(cash(out, b200, "residual") / cash(out, h100, "residual"),
                               cfg.gpus["b200"].purchase_price_ratio, rtol=1e-5)


def test_notebook_units_convert_through_the_table(typed):
    """Seats fully used (a T4 does little): ``W = seats 24`` GPU-h a day, units ``W u cu(t4)/cu(a100)`` a month."""
    cfg, names, out = typed
    s, gpus = names.index("notebook_t4"), cfg.gpus
    units = 4 * HOURS_PER_DAY * DAYS_PER_MONTH * prior(cfg, "notebook.units_per_gpu_hour") \
        * gpus["t4"].colab_units_per_hour / gpus["a100"].colab_units_per_hour
    overage = max(0.0, units - 4 * prior(cfg, "notebook.included_units"))
    assert overage > 0.0
    monthly = 4 * prior(cfg, "notebook.monthly_fee_usd") + overage * prior(cfg, "notebook.usd_per_unit")
    np.testing.assert_allclose(cash(out, s, "notebook"), MONTHS * monthly, rtol=2e-5)


def test_table_leaves_and_conversions(hybrid):
    hybrid.strategies = {
        "a": strategy(("owned", 8, {"gpu": "b200"}), ("spot", 16, {"gpu": "h200"}), ("academic", 4, {"gpu": "h100"})),
        "b": strategy(("notebook", 2, {"gpu": "t4"}), ("on_demand", 8)),
    }
    check(hybrid)
    st, g = strategy_table(hybrid.strategies, hybrid.data, gpus=hybrid.gpus), hybrid.gpus
    np.testing.assert_allclose(st.throughput, [[2.2, 1.15, 1.0], [g["t4"].throughput, 1.0, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(st.rent_price_ratio, [[1.0, 1.15, 1.0], [1.0, 1.0, 1.0]], rtol=1e-6)  # rented only
    np.testing.assert_allclose(st.academic_gpus_ratio[0, 2], 4.0 / 12.2, rtol=1e-6)  # RGU: A100-40GB per H100
    np.testing.assert_allclose(st.notebook_units_ratio[1, 0], 1.8 / 12.0, rtol=1e-6)
    np.testing.assert_allclose(st.owned_purchase_ratio, [g["b200"].purchase_price_ratio, 1.0], rtol=1e-6)
    np.testing.assert_allclose(st.owned_power_ratio, [g["b200"].power_ratio, 1.0], rtol=1e-6)


def test_default_types_per_kind(hybrid):
    hybrid.strategies = {"s": strategy(("owned", 8), ("academic", 4), ("notebook", 2), ("marketplace", 8))}
    st = strategy_table(hybrid.strategies, hybrid.data, gpus=hybrid.gpus)
    a100 = hybrid.gpus["a100"].throughput
    np.testing.assert_allclose(st.throughput, [[1.0, a100, a100, 1.0]], rtol=1e-6)


def test_changing_a_type_does_not_change_the_compiled_structure(hybrid):
    """A GPU type is array leaves only: the engine inputs keep their tree structure, shapes and dtypes."""
    inputs, grid = build_inputs(hybrid)
    for pool in hybrid.strategies["hybrid"].pools.values():
        pool.gpu = "b200" if pool.kind != "owned" else "a100"
    other, grid2 = build_inputs(hybrid)
    assert jax.tree_util.tree_structure(inputs) == jax.tree_util.tree_structure(other) and grid == grid2
    for a, b in zip(jax.tree_util.tree_leaves(inputs), jax.tree_util.tree_leaves(other), strict=True):
        assert (np.shape(a), np.asarray(a).dtype) == (np.shape(b), np.asarray(b).dtype)
    assert not np.allclose(inputs.strategies.throughput, other.strategies.throughput)


@pytest.mark.parametrize("pool, message", [
    ({"kind": "on_demand", "gpu": "h300"}, "strategies.s.pools.p.gpu = 'h300': unknown GPU type; the gpus table has"),
    ({"kind": "notebook", "gpu": "b200"}, "strategies.s.pools.p.gpu = 'b200': a notebook pool needs a GPU type with "
                                          "colab_units_per_hour (one of a100, l4, t4)"),
    ({"kind": "academic", "gpu": "l4"}, "strategies.s.pools.p.gpu = 'l4': a academic pool needs a GPU type with "
                                        "alliance_rgu (one of h100, a100, t4)"),
])
def test_bad_types_are_one_line_errors(hybrid, pool, message):
    from simulator.config.schema import PoolConfig, StrategyConfig

    hybrid.strategies = {"s": StrategyConfig(pools={"p": PoolConfig(**pool)})}
    with pytest.raises(ConfigError) as err:
        check(hybrid)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_unit_anchor_row_is_required(hybrid):
    hybrid.gpus["a100"] = dataclasses.replace(hybrid.gpus["a100"], colab_units_per_hour=None)
    hybrid.strategies = {"s": strategy(("notebook", 2, {"gpu": "t4"}))}
    with pytest.raises(ConfigError, match=r"gpus\.a100\.colab_units_per_hour: missing"):
        check(hybrid)


def test_unknown_type_on_the_command_line():
    with pytest.raises(ConfigError, match="unknown GPU type"):
        load_config(["scenario=hybrid", "strategies.hybrid.pools.base.gpu=v100"])
    cfg = load_config(["scenario=hybrid", "strategies.hybrid.pools.base.gpu=b200"])
    assert cfg.strategies["hybrid"].pools["base"].gpu == "b200"


def test_numpy_reference_mirrors_gpu_types(typed):
    """With every prior pinned both are deterministic: the NumPy reference's costs match the engine's per strategy
    and category (owned, on-demand and spot pools of several types)."""
    from benchmarks.numpy_reference import simulate_numpy

    cfg, names, out = typed
    cfg = dataclasses.replace(cfg, strategies={k: v for k, v in cfg.strategies.items() if k != "notebook_t4"})
    numpy = simulate_numpy(cfg, 2, seed=1)
    for s, name in enumerate(cfg.strategies):
        np.testing.assert_allclose(numpy["cash_by_category"][:, s], out["cash_by_category"][:, s], rtol=1e-4,
                                   atol=1e-2, err_msg=name)
        np.testing.assert_allclose(numpy["run_finish_day"][:, s], out["run_finish_day"][:, s], rtol=1e-5)
