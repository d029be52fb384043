"""The pool-kind table: it agrees with the config's kinds, and every kind list of the engine is derived from it."""

import jax.numpy as jnp
import numpy as np

from simulator.config.schema import BUILTIN_PROVIDERS, POOL_KINDS, RENTED_KINDS, DataPolicy
from simulator.engine import kinds
from simulator.engine.pools import KIND_TERMS, TERM_DEFAULTS, egress_by_provider, interruptible_codes
from simulator.engine.strategies import COST_CATEGORIES, DEFAULT_PROVIDERS


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


def test_providers_agree_with_the_config():
    """Built-in kinds have their own provider; rented kinds default to the catalogue provider the config names."""
    for name in POOL_KINDS:
        row = kinds.KINDS[name]
        assert row.rented == (name in RENTED_KINDS), name
        expected = RENTED_KINDS[name] if row.rented else BUILTIN_PROVIDERS[name]
        assert row.provider == expected, name


def test_egress_by_provider():
    """Data leaving a catalogue provider pays its egress; built-in providers and 'none' (-1) charge nothing."""
    catalogue = (jnp.asarray(90.0), jnp.asarray(0.0), jnp.asarray(5.0))  # hyperscaler, neocloud, marketplace
    provider = jnp.asarray([DEFAULT_PROVIDERS.index(q) for q in DEFAULT_PROVIDERS] + [-1])
    usd = np.asarray(egress_by_provider(provider, catalogue))
    expected = dict(onprem=0.0, academic=0.0, notebook=0.0, hyperscaler=90.0, neocloud=0.0, marketplace=5.0)
    np.testing.assert_array_equal(usd, [expected[q] for q in DEFAULT_PROVIDERS] + [0.0])


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
