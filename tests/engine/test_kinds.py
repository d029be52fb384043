"""The pool-kind table: it agrees with the config's kinds, and every kind list of the engine is derived from it."""

import jax.numpy as jnp
import numpy as np

from simulator.config.schema import POOL_KINDS, DataPolicy
from simulator.engine import kinds
from simulator.engine.pools import KIND_TERMS, TERM_DEFAULTS, by_provider, interruptible_codes
from simulator.engine.strategies import COST_CATEGORIES


def test_table_names_are_the_config_kinds():
    assert set(kinds.KINDS) == set(POOL_KINDS)
    assert tuple(kinds.KINDS)[: len(POOL_KINDS)] == POOL_KINDS  # built-in codes follow the config order
    assert set(KIND_TERMS) == set(kinds.KINDS)


def test_rows_are_consistent():
    for name, row in kinds.KINDS.items():
        assert row.name == name
        assert row.cost_category in COST_CATEGORIES, name
        assert row.max_job_gpus >= 1.0


def test_derived_lists():
    code = kinds.kind_code()
    assert set(interruptible_codes()) == {code["spot"], code["marketplace"], code["notebook"]}
    assert set(kinds.codes_where(interruptible=False)) == {code["owned"], code["on_demand"], code["academic"],
                                                                   code["reserved"]}
    provider = kinds.provider_of_code()
    assert provider[code["spot"]] == provider[code["on_demand"]] == provider[code["reserved"]]  # one cloud provider
    assert len({provider[code[k]] for k in ("owned", "on_demand", "marketplace", "academic", "notebook")}) == 5


def test_data_charge_by_provider():
    provider = jnp.asarray(kinds.provider_of_code() + (-1,))
    usd = np.asarray(by_provider(provider, jnp.asarray(90.0), jnp.asarray(10.0)))
    expected = {"owned": 0.0, "on_demand": 90.0, "spot": 90.0, "marketplace": 10.0, "academic": 0.0, "notebook": 0.0,
                "reserved": 90.0}
    for name, value in expected.items():
        assert usd[kinds.code(name)] == value, name
    assert usd[-1] == 0.0  # not started


def test_closed_by_policy():
    open_data = DataPolicy()
    assert not any(kinds.closed_by_policy(k, open_data) for k in POOL_KINDS)
    exclude = DataPolicy(sensitive=True, policy="exclude")
    assert {k for k in POOL_KINDS if kinds.closed_by_policy(k, exclude)} == {"on_demand", "spot", "marketplace",
                                                                          "notebook", "reserved"}
    compliance = DataPolicy(sensitive=True, policy="compliance")
    assert {k for k in POOL_KINDS if kinds.closed_by_policy(k, compliance)} == {"marketplace", "notebook"}


def test_term_defaults_cover_the_kind_specific_terms():
    assert set(TERM_DEFAULTS) == {"capacity", "price", "hazard", "instance_gpus", "run_efficiency", "queue_days"}
