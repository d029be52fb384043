"""The ``correlations`` list and the region presets: valid input composes; bad input is one line naming the key,
the value and what is allowed."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import error_for

from simulator.config.correlations import correlation_matrix, flat_priors, pearson_from_rank
from simulator.config.load import CONF_DIR, load_config

REGIONS = sorted(p.stem for p in (Path(__file__).parents[2] / "conf" / "region").glob("*.yaml"))


def correlations(*pairs: tuple[str, str, float]) -> str:
    return "correlations=[" + ",".join(f"{{a:{a},b:{b},rank:{r}}}" for a, b, r in pairs) + "]"


def test_correlations_compose_with_run_priors():
    cfg = load_config(
        [
            correlations(
                ("market.drift_per_year", "workload.growth_multiplier_per_year", 0.6),
                ("runs.foundation_v1.gpu_hours", "workload.growth_multiplier_per_year", 0.5),
            )
        ]
    )
    names, matrix = correlation_matrix(cfg)
    assert names == (
        "market.drift_per_year",
        "workload.growth_multiplier_per_year",
        "runs.foundation_v1.gpu_hours",
    )
    assert matrix[0, 1] == matrix[1, 0] == pytest.approx(2 * np.sin(np.pi * 0.6 / 6))
    assert matrix[1, 2] == pytest.approx(pearson_from_rank(0.5)) and matrix[0, 2] == 0.0
    assert set(names) <= set(flat_priors(cfg))


def test_no_correlations_by_default():
    cfg = load_config(["scenario=hybrid"])
    assert cfg.correlations == [] and correlation_matrix(cfg)[0] == ()


@pytest.mark.parametrize(
    "pairs, must_contain",
    [
        (
            [("market.drift", "providers.hyperscaler.spot_discount", 0.5)],
            ["correlations[0].a", "'market.drift'", "not a prior", "market.drift_per_year"],
        ),
        (
            [("market.drift_per_year", "runs.nosuch.gpu_hours", 0.5)],
            ["correlations[0].b", "runs.nosuch.gpu_hours"],
        ),
        ([("market.drift_per_year", "providers.hyperscaler.spot_discount", 1.0)], ["correlations[0].rank", "1", "< 1"]),
        ([("market.drift_per_year", "providers.hyperscaler.spot_discount", -1.5)], ["correlations[0].rank", "-1.5", "> -1"]),
        (
            [
                ("market.drift_per_year", "providers.hyperscaler.spot_discount", 0.5),
                ("providers.hyperscaler.spot_discount", "market.drift_per_year", 0.2),
            ],
            ["correlations[1]", "providers.hyperscaler.spot_discount", "already declared in correlations[0]", "once"],
        ),
        (
            [("market.drift_per_year", "market.drift_per_year", 0.5)],
            ["correlations[0].b", "market.drift_per_year", "itself"],
        ),
        (
            [("market.drift_per_year", "providers.neocloud.egress_usd_per_tb", 0.5)],
            ["correlations[0].b", "providers.neocloud.egress_usd_per_tb", "fixed", "varies"],
        ),
        (
            [
                ("market.drift_per_year", "providers.hyperscaler.spot_discount", 0.9),
                ("market.drift_per_year", "workload.growth_multiplier_per_year", 0.9),
                ("providers.hyperscaler.spot_discount", "workload.growth_multiplier_per_year", -0.9),
            ],
            ["correlations", "0.9", "-0.9", "not positive definite", "eigenvalue"],
        ),
    ],
)
def test_bad_correlations_are_one_clear_line(pairs, must_contain):
    line = error_for([correlations(*pairs)])
    for text in must_contain:
        assert text in line, (text, line)


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_composes(region):
    cfg = load_config(["scenario=hybrid", f"region={region}"])
    assert cfg.priors.market.electricity_usd_per_kwh.dist == "lognormal"


def test_regions():
    """``us`` is the default; Quebec's power is cheaper; a scenario or the command line still overrides a region."""
    assert REGIONS == ["quebec", "us"]
    default, us = load_config([]), load_config(["region=us"])
    quebec = load_config(["region=quebec"])
    assert default.priors.market.electricity_usd_per_kwh == us.priors.market.electricity_usd_per_kwh
    assert (
        quebec.priors.market.electricity_usd_per_kwh.median < us.priors.market.electricity_usd_per_kwh.median
    )
    line = load_config(["region=quebec", "priors.market.electricity_usd_per_kwh.median=0.05"])
    assert line.priors.market.electricity_usd_per_kwh.median == 0.05
    defaults = [
        next(iter(d)) if isinstance(d, dict) else d
        for d in yaml.safe_load((CONF_DIR / "config.yaml").read_text())["defaults"]
    ]
    assert (
        defaults.index("priors") < defaults.index("region") < defaults.index("scenario")
    )  # merged in this order
    assert error_for(["region=mars"]).startswith(
        "config error: region=mars: no such file conf/region/mars.yaml"
    )
