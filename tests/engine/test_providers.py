"""The provider catalogue in the engine: each pool pays its own provider's prices, and a strategy may hold several
pools of one rented kind, used in priority order.

Pinned priors (``conftest.pinned``, :func:`test_costs.lean`): 240 GPU-h/day flat, wall = useful x 1.05, a 12-month
horizon; hyperscaler on-demand $5.40, neocloud $3.00 (its median), no dataset, no cloud operations.
"""

import numpy as np
import pytest
from conftest import fixed, run_config, strategy

from simulator.config.errors import ConfigError
from simulator.config.validate import check
from simulator.engine.strategies import CATEGORY_INDEX

YEAR = 365.25
WALL = 240.0 * 1.05  # wall GPU-hours a day for 240 useful
HYPERSCALER, NEOCLOUD = 5.4, 3.0


def lean(cfg):
    for group, name in (("operations", "cloud_min_fte"), ("operations", "cloud_support_share"),
                        ("storage", "dataset_tb")):
        setattr(getattr(cfg.priors, group), name, fixed(0.0))
    return cfg


def on_demand_cash(out, s):
    return out["cash_by_category"][:, s, CATEGORY_INDEX["on_demand"]]


def test_each_pool_pays_its_providers_price(flat):
    lean(flat).strategies = {
        "hyperscaler": strategy(("on_demand", 1024)),
        "neocloud": strategy(("on_demand", 1024, {"provider": "neocloud"})),
    }
    check(flat)
    out, _, _ = run_config(flat, 2)
    np.testing.assert_allclose(on_demand_cash(out, 0), WALL * YEAR * HYPERSCALER, rtol=1e-5)
    np.testing.assert_allclose(on_demand_cash(out, 1), WALL * YEAR * NEOCLOUD, rtol=1e-5)


def test_two_on_demand_pools_are_used_in_priority_order(flat):
    """A neocloud quota of 4 GPUs first (96 wall GPU-h a day), the hyperscaler for the other 156; in the other order
    the hyperscaler's large quota takes everything and the neocloud pool is never used."""
    lean(flat).strategies = {
        "neocloud_first": strategy(("on_demand", 4, {"provider": "neocloud", "name": "neo"}),
                                   ("on_demand", 1024, {"name": "aws"})),
        "hyperscaler_first": strategy(("on_demand", 1024, {"name": "aws"}),
                                      ("on_demand", 4, {"provider": "neocloud", "name": "neo"})),
    }
    check(flat)
    out, _, _ = run_config(flat, 2)
    neo_wall = 4 * 24.0
    np.testing.assert_allclose(on_demand_cash(out, 0),
                               (neo_wall * NEOCLOUD + (WALL - neo_wall) * HYPERSCALER) * YEAR, rtol=1e-5)
    np.testing.assert_allclose(on_demand_cash(out, 1), WALL * YEAR * HYPERSCALER, rtol=1e-5)
    np.testing.assert_allclose(out["delay"], 0.0, atol=1e-9)


def test_the_dataset_is_copied_to_each_provider_used(flat):
    """Home at the hyperscaler ($90/TB egress): a strategy that also runs at the neocloud keeps one copy there (one
    egress of the dataset, storage at the cloud rate); the hyperscaler-only strategy holds none."""
    lean(flat).priors.storage.dataset_tb = fixed(10.0)
    flat.priors.storage.growth_multiplier_per_year = fixed(1.0)
    flat.strategies = {
        "both": strategy(("on_demand", 4, {"provider": "neocloud", "name": "neo"}),
                         ("on_demand", 1024, {"name": "aws"})),
        "one": strategy(("on_demand", 1024)),
    }
    out, _, _ = run_config(flat, 2)
    cash = out["cash_by_category"]
    price = flat.priors.storage.cloud_usd_per_tb_month.value
    np.testing.assert_allclose(cash[:, 0, CATEGORY_INDEX["data"]], 10.0 * 90.0, rtol=1e-5)
    np.testing.assert_allclose(cash[:, 1, CATEGORY_INDEX["data"]], 0.0, atol=1e-6)
    np.testing.assert_allclose(cash[:, 0, CATEGORY_INDEX["storage"]], 2 * 10.0 * price * 12, rtol=1e-4)
    np.testing.assert_allclose(cash[:, 1, CATEGORY_INDEX["storage"]], 10.0 * price * 12, rtol=1e-4)


def test_unserved_work_is_valued_at_the_marginal_pools_provider(flat):
    """Work left at the horizon is priced at the last on-demand pool's provider: a strategy whose marginal pool is
    the neocloud values its unserved work at $3.00, one without an on-demand pool at the hyperscaler's $5.40."""
    lean(flat).strategies = {
        "neo": strategy(("on_demand", 1, {"provider": "neocloud"})),
        "none": strategy(("spot", 1)),
    }
    flat.priors.spot.unavailable_fraction = fixed(1.0)  # spot never available: all work is left
    out, _, _ = run_config(flat, 2)
    unserved = out["cash_by_category"][:, :, CATEGORY_INDEX["unserved"]]
    backlog = out["final_backlog"]
    np.testing.assert_allclose(unserved[:, 0], backlog[:, 0] * NEOCLOUD * 1.05, rtol=1e-5)
    np.testing.assert_allclose(unserved[:, 1], backlog[:, 1] * HYPERSCALER * 1.05, rtol=1e-5)


@pytest.mark.parametrize(("pool", "message"), [
    ({"kind": "on_demand", "provider": "nowhere"}, "not in the provider catalogue"),
    ({"kind": "marketplace", "provider": "neocloud"}, "does not sell marketplace"),
    ({"kind": "owned", "provider": "neocloud"}, "has no provider to choose"),
])
def test_a_bad_provider_is_one_line(flat, pool, message):
    options = {k: v for k, v in pool.items() if k != "kind"}
    flat.strategies = {"s": strategy((pool["kind"], 8, options))}
    with pytest.raises(ConfigError, match=message):
        check(flat)


def test_only_rented_kinds_repeat(flat):
    flat.strategies = {"s": strategy(("owned", 8, {"name": "a"}), ("owned", 8, {"name": "b"}))}
    with pytest.raises(ConfigError, match="only rented kinds"):
        check(flat)
    flat.data.home = "atlantis"
    flat.strategies = {"s": strategy(("on_demand", 8))}
    with pytest.raises(ConfigError, match="data.home = 'atlantis'"):
        check(flat)


def test_a_provider_rents_only_its_gpu_types(flat):
    flat.providers["neocloud"].gpus = ["h100", "b200"]
    flat.strategies = {"s": strategy(("on_demand", 8, {"provider": "neocloud", "gpu": "b200"}))}
    check(flat)
    flat.strategies = {"s": strategy(("on_demand", 8, {"provider": "neocloud", "gpu": "t4"}))}
    with pytest.raises(ConfigError, match="gpu = 't4': provider 'neocloud' rents h100, b200"):
        check(flat)
    flat.providers["neocloud"].gpus = ["h100", "h900"]
    with pytest.raises(ConfigError, match="providers.neocloud.gpus contains 'h900'"):
        check(flat)
