"""The optimum of an in-engine sweep under the decision's objective and constraints, and the efficient frontier.

Newsvendor (closed form, engine run). Demand is a per-path constant ``D`` GPU-hours a day (growth pinned at 1,
volatility 0), ``D ~ lognormal(median m = 240, p90 = 480)``, i.e. ``log D ~ N(log m, s^2)`` with
``s = log(480 / 240) / Phi^-1(0.9)``. The engine runs ``1.05 D`` wall GPU-hours a day (5% checkpoint overhead at a
1-hour interval), so the GPUs demanded are ``W = 1.05 D / 24``, lognormal with median ``1.05 m / 24 = 10.5``.
An owned base of ``n`` GPUs costs ``h = $20,000`` per GPU (the purchase; no lead time, failures, power, staff,
facility, support, fabric, build-out or resale; no discounting) over ``T = 365.25`` days, i.e.
``c_o = h / (24 T) = $2.2815`` per GPU-hour; every GPU-hour beyond the base runs on on-demand at
``c_c = $5.40`` (4,096 GPUs: never short). So

    cost(n) = n h + 24 T c_c E[(W - n)^+],   d E[cost] / dn = 24 T (c_o - c_c P(W > n)),

minimised at the critical fractile ``b* = F_W^-1(1 - c_o / c_c) = 10.5 exp(s Phi^-1(1 - c_o / c_c)) = 11.67``
GPUs. The sweep over ``n = 0, 1, ..., 24`` (one compiled run, common random numbers) must put ``round(b*) = 12`` in
its set within noise, with a band at most a few GPUs wide (the flat bottom of the expected cost: 1.96 SE of the
pathwise margin at 3,000 paths).
"""

import numpy as np
import pytest
from conftest import fixed, pinned, run_config, strategy
from scipy import stats

from simulator.config.schema import DecisionConfig, SweepConfig
from simulator.config.sweeps import expand_sweeps, sweep_labels
from simulator.decision.outcomes import PathOutcomes
from simulator.sweeps.optimum import frontier_frame, non_dominated, sweep_optimum
from simulator.sweeps.sweep_report import describe_optimum
from tests.engine.test_costs import lean

FINE = list(range(25))
H, PRICE, MEDIAN, P90 = 20_000.0, 5.4, 240.0, 480.0


@pytest.fixture
def newsvendor(hybrid):
    cfg = pinned(hybrid)
    cfg.engine.horizon_months = 12
    cfg.engine.discount_rate_per_year = 0.0
    cfg.runs = {}
    cfg.priors.workload.base_gpu_hours_per_day = type(cfg.priors.workload.base_gpu_hours_per_day)(
        dist="lognormal", median=MEDIAN, p90=P90)
    cfg.priors.workload.growth_multiplier_per_year = fixed(1.0)
    cfg.priors.market.electricity_usd_per_kwh = fixed(0.0)
    for name in ("facility_usd_per_kw_month", "fte_per_100_gpus", "min_fte", "fixed_usd_per_month"):
        setattr(cfg.priors.onprem, name, fixed(0.0))
    cfg.priors.owned.resale_retention_per_year = fixed(0.0)
    cfg.priors.market.hardware_usd_per_gpu = fixed(H)
    lean(cfg)
    cfg.strategies = {"hybrid": strategy(("owned", 0), ("on_demand", 4096))}
    cfg.sweeps = {"base": SweepConfig(strategy="hybrid", knob="pools.owned.gpus", values=FINE)}
    return expand_sweeps(cfg)


def test_newsvendor_optimum_is_the_critical_fractile(newsvendor):
    out, _, grid = run_config(newsvendor, 3000)
    outcomes = PathOutcomes.from_engine(out, list(newsvendor.strategies))
    opt = sweep_optimum(outcomes, "base", newsvendor.sweeps["base"], DecisionConfig(max_mean_delay_days=None),
                        has_runs=False)
    c_o = H / (24 * grid.horizon_days)
    s = np.log(P90 / MEDIAN) / stats.norm.ppf(0.9)
    b_star = 1.05 * MEDIAN / 24 * np.exp(s * stats.norm.ppf(1 - c_o / PRICE))
    assert 11 < b_star < 12.5
    near = [FINE[i] for i in np.flatnonzero(opt.within_noise)]
    assert round(b_star) in near, (b_star, near)
    assert max(near) - min(near) <= 6 and min(near) >= b_star - 4 and max(near) <= b_star + 4, near
    assert opt.admissible.all() and FINE[opt.best] in near
    # the optimum's objective against the closed form E[cost(n)] (lognormal partial expectation), |z| < 4
    n = FINE[opt.best]
    mu = np.log(1.05 * MEDIAN / 24)
    d1 = (mu + s**2 - np.log(n)) / s
    partial = np.exp(mu + s**2 / 2) * stats.norm.cdf(d1) - n * stats.norm.cdf(d1 - s)
    exact = n * H + 24 * grid.horizon_days * PRICE * partial
    assert abs(opt.objective[opt.best] - exact) < 4 * opt.objective_se[opt.best]
    assert "within noise" in describe_optimum(opt)


def _outcomes(sweep, cost, late):
    labels = sweep_labels(sweep)
    cost = np.asarray(cost, float)
    return PathOutcomes(tuple(labels), cost, np.zeros_like(cost), np.asarray(late, bool), np.zeros_like(cost))


SWEEP = SweepConfig(strategy="s", knob="pools.base.gpus", values=[0, 8, 16])


def test_the_mean_optimal_knob_that_is_too_often_late_is_not_chosen():
    """Exact: variant 0 is cheapest (mean 9) but late on 40% of paths > max_p_late 0.25; 8 (mean 10, late 10%) is
    the optimum; 16 (mean 12) is admissible and not within noise (constant costs: zero SE)."""
    paths = 100
    cost = [np.full(paths, 9.0), np.full(paths, 10.0), np.full(paths, 12.0)]
    late = [np.arange(paths) < 40, np.arange(paths) < 10, np.zeros(paths, bool)]
    decision = DecisionConfig(max_p_late=0.25, max_mean_delay_days=None)
    opt = sweep_optimum(_outcomes(SWEEP, cost, late), "size", SWEEP, decision)
    assert opt.best == 1 and list(opt.admissible) == [False, True, True]
    assert "P(late) 0.400 > 0.250" in opt.excluded_because[0]
    assert list(opt.within_noise) == [False, True, False]
    line = describe_optimum(opt)
    assert "best at pools.base.gpus = 8" in line and "0 (P(late) 0.400 > 0.250)" in line
    assert list(opt.frontier) == [True, False, False]  # 0 is cheaper in the mean and in CVaR (constant costs)


def test_cvar_objective_picks_the_safe_knob_the_mean_does_not():
    """Exact: variant 0 costs 8 on 90% of paths and 20 on 10% (mean 9.2, CVaR95 = 20); variant 8 costs 10 always
    (mean 10, CVaR95 10); 16 costs 11 always. The mean picks 0, CVaR95 picks 8; the frontier is {0, 8}, its one
    step costing 0.8 of mean for 10 of CVaR (0.08 $ per $)."""
    paths = 1000
    risky = np.where(np.arange(paths) < 900, 8.0, 20.0)
    cost = [risky, np.full(paths, 10.0), np.full(paths, 11.0)]
    outcomes = _outcomes(SWEEP, cost, np.zeros((3, paths), bool))
    by_mean = sweep_optimum(outcomes, "size", SWEEP, DecisionConfig(max_mean_delay_days=None))
    by_cvar = sweep_optimum(outcomes, "size", SWEEP, DecisionConfig(objective="cvar", level=0.95,
                                                                        max_mean_delay_days=None))
    assert by_mean.best == 0 and by_cvar.best == 1
    np.testing.assert_allclose(by_cvar.objective, [20.0, 10.0, 11.0])
    np.testing.assert_allclose(by_mean.cvar, [20.0, 10.0, 11.0])
    assert list(by_mean.frontier) == [True, True, False]
    frame = frontier_frame(by_mean)
    assert list(frame["variant"]) == ["pools.base.gpus = 0", "pools.base.gpus = 8"]
    np.testing.assert_allclose(frame["usd_per_tail"].iloc[1], 0.8 / 10.0)


def test_non_dominated():
    mean = np.array([1.0, 2.0, 3.0, 2.5, 1.0])
    tail = np.array([5.0, 3.0, 1.0, 3.5, 6.0])
    assert list(non_dominated(mean, tail)) == [True, True, True, False, False]


def test_no_admissible_variant():
    paths = 10
    cost = [np.full(paths, 1.0)] * 3
    opt = sweep_optimum(_outcomes(SWEEP, cost, np.ones((3, paths), bool)), "size", SWEEP,
                        DecisionConfig(max_p_late=0.25, max_mean_delay_days=None))
    assert opt.best is None and not opt.within_noise.any()
    assert "no variant of s meets every constraint" in describe_optimum(opt)


def test_frontier_table_and_plot(tmp_path):
    """summary.md's sweep section: the line, then one frontier table per tail measure; frontier_<sweep>.png."""
    from simulator.report.markdown import knob_sweeps_markdown
    from simulator.sweeps.frontier_plot import save_frontier_plots

    paths = 1000
    risky = np.where(np.arange(paths) < 900, 8.0, 20.0)
    late = [np.arange(paths) < 200, np.arange(paths) < 100, np.zeros(paths, bool)]
    outcomes = _outcomes(SWEEP, [risky, np.full(paths, 10.0), np.full(paths, 11.0)], late)
    opt = sweep_optimum(outcomes, "size", SWEEP, DecisionConfig(max_mean_delay_days=None))
    assert list(opt.frontier_late) == [True, True, True]
    text = knob_sweeps_markdown([describe_optimum(opt)], [frontier_frame(opt), frontier_frame(opt, "p_late")])
    assert "## In-engine sweeps" in text and "## Efficient frontier of sweep size: mean cost vs CVaR95" in text
    assert "| pools.base.gpus = 8 |" in text and "0.08" in text and "mean cost vs P(late)" in text
    written = save_frontier_plots({"size": opt}, tmp_path)
    assert [p.name for p in written] == ["frontier_size.png"] and written[0].stat().st_size > 10_000
