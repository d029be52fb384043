"""Cash and runway (:mod:`simulator.engine.cash`), exact with all priors fixed (``flat``: 240 GPU-h/day, 12 months,
no discounting): the peak cumulative spend, the spend before the next raise, the monthly trajectory, and
P(running out) in the recommendation."""

import numpy as np
import pytest
from conftest import fixed, run_config, strategy

from simulator.decision.outcomes import PathOutcomes
from simulator.decision.recommend import constraints
from simulator.engine.strategies import CATEGORY_INDEX, SPEND_CATEGORIES
from tests.engine.test_costs import category, lean

MONTH = 240.0 * 365.25 / 12 * 1.05 * 5.4  # on-demand spend of a month: GPU-hours x checkpoint overhead x price


def test_on_demand_cash_grows_by_a_month_of_rent_each_month(flat):
    """C_k = k x one month's rent; peak_cash = C_12; with the raise at month 5, cash_need = C_5 (funding_month is an
    array input: changing it does not recompile, and the cost is unchanged)."""
    lean(flat).strategies = {"cloud": strategy(("on_demand", 1024))}
    flat.decision.funding_month = 5
    out, _, grid = run_config(flat, 2)
    np.testing.assert_allclose(out["cumulative_cash"][:, 0], np.broadcast_to(np.arange(1, 13) * MONTH, (2, 12)), rtol=1e-5)
    np.testing.assert_allclose(out["peak_cash"][:, 0], 12 * MONTH, rtol=1e-5)
    np.testing.assert_allclose(out["cash_need"][:, 0], 5 * MONTH, rtol=1e-5)
    flat.decision.funding_month = None
    whole, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(whole["cash_need"][:, 0], 12 * MONTH, rtol=1e-5)
    np.testing.assert_array_equal(whole["cost"], out["cost"])


def test_peak_cash_of_a_purchase_excludes_the_resale_at_the_horizon(flat):
    """An owned fleet pays its capex early; the resale at the horizon comes after the last month, so the peak is the
    spend before the credit: sum of the spend categories less the residual (a credit, negative)."""
    flat.priors.owned.lead_time_weeks = fixed(2.0)
    flat.strategies = {"owned": strategy(("owned", 16)), "hybrid": strategy(("owned", 8), ("on_demand", 1024))}
    out, _, _ = run_config(flat, 2)
    spend = sum(out["cash_by_category"][..., CATEGORY_INDEX[name]] for name in SPEND_CATEGORIES)
    residual = category(out, slice(None), "residual")
    assert np.all(residual < 0.0)
    np.testing.assert_allclose(out["peak_cash"], spend - residual, rtol=1e-5)
    assert np.all(out["peak_cash"] >= out["cumulative_cash"].max(axis=-1) * (1 - 1e-6))


@pytest.mark.parametrize("funding, expected", [(6.5 * MONTH, 0.0), (5.5 * MONTH, 1.0)])
def test_running_out_of_cash_is_a_constraint(flat, funding, expected):
    """With the raise at month 6, a $F funding runs out iff 6 months of rent exceed F: P(out of cash) is 0 or 1 on
    every path, and a strategy that runs out is excluded with the reason named."""
    lean(flat).strategies = {"cloud": strategy(("on_demand", 1024))}
    flat.decision.funding_month, flat.decision.funding_usd = 6, funding
    out, _, _ = run_config(flat, 4)
    table = constraints(PathOutcomes.from_engine(out, ["cloud"]), flat.decision)
    assert table.loc["cloud", "p_out_of_cash"] == expected
    assert table.loc["cloud", "admissible"] == (expected == 0.0)
    assert ("P(out of cash)" in table.loc["cloud", "excluded_because"]) == (expected == 1.0)
