"""The recipe for a new pool kind, proved: one row in the kinds table plus its terms, defined here, runs end to end.

The throw-away kind ``contract`` is a reserved-instance contract: a fixed quota at 60% of the on-demand price, from a
provider of its own, not interruptible, billed as on-demand. Nothing else in the engine is told about it; the table and the
terms registry are patched for this test only.
"""

import numpy as np
import pytest
from conftest import run_config, strategy

from simulator.engine import kinds
from simulator.engine.pools import KIND_TERMS
from simulator.engine.strategies import CATEGORY_INDEX

RESERVED_SHARE = 0.6
ON_DEMAND_ONLY_USD = 497_032.2  # test_costs.test_on_demand_cost_by_hand: 240 GPU-h/day x 365.25 x 1.05 x $5.40


def contract_terms(st, params, drivers):
    on_demand = KIND_TERMS["on_demand"](st, params, drivers)
    return dict(capacity=st.gpus, price=RESERVED_SHARE * on_demand["price"])


@pytest.fixture
def contract(monkeypatch):
    row = kinds.Kind("contract", provider="hyperscaler", interruptible=False, sensitive_data="public_cloud",
                     cost_category="on_demand")
    monkeypatch.setitem(kinds.KINDS, row.name, row)
    monkeypatch.setitem(KIND_TERMS, row.name, contract_terms)
    return row


def test_a_kind_defined_in_a_test_runs(flat, contract):
    flat.strategies = {"contract": strategy(("contract", 1024)), "cloud": strategy(("on_demand", 1024)),
                       "both": strategy(("contract", 4), ("on_demand", 1024))}
    out, _, _ = run_config(flat, 4)
    cash = out["cash_by_category"][:, :, CATEGORY_INDEX["on_demand"]]
    np.testing.assert_allclose(cash[:, 0], RESERVED_SHARE * ON_DEMAND_ONLY_USD, rtol=1e-5)
    np.testing.assert_allclose(cash[:, 1], ON_DEMAND_ONLY_USD, rtol=1e-5)
    # 4 reserved GPUs run 96 of the 252 wall GPU-h a day needs; on-demand runs the rest at the full price
    both = (96.0 * RESERVED_SHARE + (252.0 - 96.0)) / 252.0 * ON_DEMAND_ONLY_USD
    np.testing.assert_allclose(cash[:, 2], both, rtol=1e-4)
    np.testing.assert_allclose(out["delay"], 0.0, atol=1e-9)


def test_register_appends_a_code(monkeypatch):
    monkeypatch.setattr(kinds, "KINDS", dict(kinds.KINDS))
    row = kinds.Kind("scratch", provider="onprem", interruptible=True, sensitive_data="closed",
                     cost_category="marketplace")
    code = kinds.register(row)
    assert code == len(kinds.KINDS) - 1 and kinds.code("scratch") == code
    assert code in kinds.codes_where(interruptible=True)
    with pytest.raises(ValueError):
        kinds.register(row)
