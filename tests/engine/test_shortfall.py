"""The shortfall in closed form, all priors fixed (``flat``: 240 GPU-h/day, on-demand $5.40, efficiency 1/1.05,
v = $1.5 per GPU-hour-day; see ``test_costs``): the delay cost of a known backlog, the terminal wait and unserved
work, and the lateness of a run (per day, and the missed-deadline cut-off)."""

import numpy as np
import pytest
from conftest import fixed, run_config, strategy

from simulator.config.schema import RunConfig
from tests.engine.test_costs import category, lean

V, PRICE, EFF, DEMAND = 1.5, 5.4, 1.0 / 1.05, 240.0


def _backlog_by_hand(grid, served_per_day: float, rate: float = 0.0):
    """Backlog left after routing at each step (k+1) (D - served) dt, and the delay cost of a horizon by hand."""
    steps = 12 * grid.steps_per_month
    t_mid = (np.arange(steps) + 0.5) * grid.dt_days
    backlog = (DEMAND - served_per_day) * grid.dt_days * (np.arange(steps) + 1.0)
    return backlog, np.sum(V * backlog * grid.dt_days * (1.0 + rate) ** (-t_mid / 365.25))


@pytest.mark.parametrize("rate", [0.0, 0.1])
def test_delay_and_unserved_of_a_known_backlog(flat, rate):
    """No capacity (a 0-GPU on-demand pool: no marginal pool, so G = workload.clearing_gpus), and one GPU of
    on-demand (G = 1, serving 24 eff GPU-h/day): the backlog grows linearly; delay = v sum_t B_t dt discounted plus
    v B_T^2 / (2 x 24 G) at T; unserved = B_T c_T / eff at T."""
    lean(flat).engine.discount_rate_per_year = rate
    flat.strategies = {"none": strategy(("on_demand", 0)), "one": strategy(("on_demand", 1))}
    out, _, grid = run_config(flat, 2)
    horizon = 365.25
    end = (1.0 + rate) ** (-1.0)
    clearing = flat.priors.workload.clearing_gpus.value
    for s, (served, gpus) in enumerate(((0.0, clearing), (24.0 * EFF, 1.0))):
        backlog, delay_steps = _backlog_by_hand(grid, served, rate)
        b_t = backlog[-1]
        wait = b_t**2 / (2.0 * 24.0 * gpus)
        np.testing.assert_allclose(out["final_backlog"][:, s], b_t, rtol=1e-5)
        np.testing.assert_allclose(category(out, s, "delay", "cost_by_category"), delay_steps + V * wait * end,
                                   rtol=1e-4)
        np.testing.assert_allclose(category(out, s, "unserved", "cost_by_category"), b_t * PRICE / EFF * end,
                                   rtol=1e-5)
        np.testing.assert_allclose(out["delay"][:, s], (np.sum(backlog) * grid.dt_days + wait) / (DEMAND * horizon),
                                   rtol=1e-4)
        np.testing.assert_allclose(out["delivered_gpu_hours"][:, s], DEMAND * horizon - b_t, rtol=1e-4,
                                   atol=1e-5 * DEMAND * horizon)  # float32 sums of arrivals and of the backlog
    np.testing.assert_allclose(out["shortfall"], out["cost_by_category"][..., [category_index(n) for n in (
        "delay", "late_runs", "unserved")]].sum(-1), rtol=1e-12)


def category_index(name):
    from simulator.engine.strategies import CATEGORY_INDEX

    return CATEGORY_INDEX[name]


@pytest.mark.parametrize(("missed_after", "missed"), [(None, False), (3.0, True), (5.0, False)])
def test_lateness_cost_of_a_run(flat, missed_after, missed):
    """A 10,000 GPU-hour run of 32 GPUs from day 20, due day 30, finishes at 20 + 10,000 x 1.05 / 768 = 33.67 (3.67
    days late): late_runs = $1,000 x 3.67 (+ $1M once if more than ``missed_after`` days late), discounted at the
    finish. On 16 owned GPUs the run never starts: it is priced at its extrapolated finish, and its 10,000 GPU-hours
    are unserved at T."""
    lean(flat).engine.discount_rate_per_year = 0.1
    flat.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    flat.runs = {"big": RunConfig(gpu_hours=fixed(10_000.0), gpus=32, start_day=20.0, deadline_day=30.0,
                                  late_usd_per_day=fixed(1000.0), missed_usd=1e6, missed_after_days=missed_after)}
    flat.strategies = {"cloud": strategy(("on_demand", 1024)), "small": strategy(("owned", 16))}
    out, _, _ = run_config(flat, 2)
    finish = 20.0 + 10_000 * 1.05 / (32 * 24)
    late = 1000.0 * (finish - 30.0) + (1e6 if missed else 0.0)
    np.testing.assert_allclose(category(out, 0, "late_runs"), late, rtol=1e-4)
    np.testing.assert_allclose(category(out, 0, "late_runs", "cost_by_category"), late * 1.1 ** (-finish / 365.25),
                               rtol=1e-4)
    np.testing.assert_allclose(category(out, 0, "unserved"), 0.0, atol=1e-6)
    never = 365.25 + 10_000 * 1.05 / (32 * 24)  # extrapolated at full width
    np.testing.assert_allclose(out["run_finish_day"][:, 1, 0], never, rtol=1e-5)
    late_small = 1000.0 * (never - 30.0) + (1e6 if missed_after is not None else 0.0)
    np.testing.assert_allclose(category(out, 1, "late_runs", "cost_by_category"),
                               late_small * 1.1 ** (-never / 365.25), rtol=1e-4)
    # no on-demand pool: the market's price, P_od(0) on a flat index
    np.testing.assert_allclose(category(out, 1, "unserved", "cost_by_category"), 10_000 * PRICE / EFF / 1.1,
                               rtol=1e-5)
    np.testing.assert_allclose(out["cost"], out["spend"] + out["shortfall"], rtol=1e-12)
