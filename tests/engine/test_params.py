"""Typed parameters: the groups mirror the priors schema, and a misspelt name fails instead of reading a default."""

import dataclasses

import jax.numpy as jnp
import pytest

from simulator.config.priors import Priors
from simulator.engine.params import GROUP_TYPES, Params
from simulator.engine.priors import prior_table


def test_groups_mirror_the_priors_schema():
    assert list(GROUP_TYPES) == [f.name for f in dataclasses.fields(Priors)]
    for group in dataclasses.fields(Priors):
        schema_fields = [f.name for f in dataclasses.fields(group.type if isinstance(group.type, type)
                                                            else type(getattr(Priors(), group.name)))]
        assert list(GROUP_TYPES[group.name]._fields) == schema_fields, group.name


def test_round_trip_in_prior_table_order(hybrid):
    table = prior_table(hybrid)
    flat = {name: jnp.asarray(float(i)) for i, name in enumerate(table)}
    runs, providers = tuple(hybrid.runs), tuple(hybrid.providers)
    params = Params.from_flat(flat, runs, providers)
    assert params.market.drift_per_year == flat["market.drift_per_year"]
    assert params.run_gpu_hours[0] == flat["runs.foundation_v1.gpu_hours"]
    assert params.provider_spot_discount[1] == flat["providers.neocloud.spot_discount"]
    assert list(params.to_flat(runs, providers)) == list(table)


def test_a_misspelt_name_fails(hybrid):
    flat = {name: jnp.asarray(0.0) for name in prior_table(hybrid)}
    runs, providers = tuple(hybrid.runs), tuple(hybrid.providers)
    with pytest.raises(AttributeError):
        Params.from_flat(flat, runs, providers).market.drfit_per_year  # noqa: B018
    with pytest.raises(TypeError):  # the providers' priors are in no group unless the catalogue is given
        Params.from_flat(flat, runs)
    flat["market.drfit_per_year"] = flat.pop("market.drift_per_year")
    with pytest.raises(TypeError):
        Params.from_flat(flat, runs, providers)
