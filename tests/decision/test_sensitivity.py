"""The tornado on an injected re-run: no engine, the margin and its change computed pathwise, flips reported."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator.config.schema import DecisionConfig
from simulator.decision.sensitivity import tornado

PATHS = 2000


class FakeRerun:
    """Costs of (best, runner-up) on common random numbers: the runner-up costs ``2e4 + 1e5 (1 - 2 x)`` more per
    path, ``x`` the pinned value of prior ``price`` (0.5 unpinned); prior ``noise`` changes nothing."""

    paths = PATHS

    def __init__(self):
        rng = np.random.default_rng(0)
        self.base = 1e6 * np.exp(0.2 * rng.normal(size=PATHS))
        self.extra = 1e4 * rng.normal(size=PATHS)
        self.calls: list[dict] = []

    def prior_quantile(self, name: str, q: float) -> float:
        return q

    def __call__(self, pair, pinned):
        self.calls.append(dict(pinned))
        x = pinned.get("price", 0.5)
        return np.vstack([self.base, self.base + 2e4 + 1e5 * (1 - 2 * x) + self.extra])


@pytest.mark.parametrize("objective", ["mean", "cvar"])
def test_tornado_with_an_injected_rerun(objective):
    decision = dataclasses.replace(DecisionConfig(), objective=objective)
    rerun = FakeRerun()
    frame = tornado(rerun, ("best", "runner"), ["noise", "price"], decision)
    assert rerun.calls[0] == {} and len(rerun.calls) == 1 + 2 * 2  # base, then low and high of each prior
    assert list(frame.index) == ["price", "noise"]  # largest swing first
    price, noise = frame.loc["price"], frame.loc["noise"]
    low, high = decision.sensitivity.low_quantile, decision.sensitivity.high_quantile
    assert price["low_margin"] == pytest.approx(2e4 + 1e5 * (1 - 2 * low), rel=0.01)
    assert price["high_margin"] == pytest.approx(2e4 + 1e5 * (1 - 2 * high), rel=0.01)
    assert price["flips"] == ("yes" if 2e4 + 1e5 * (1 - 2 * high) < 0 else "no")
    assert noise["swing"] == pytest.approx(0.0, abs=1e-6) and noise["flips"] == "no"
    # same paths in every re-run: the change of a pinned prior is exact, its SE ~0 (only the price term moves)
    assert price["high_change_se"] < 1e-6 * abs(price["high_margin"] - frame.attrs["base_margin"])
    assert frame.attrs["paths"] == PATHS and frame.attrs["pair"] == ["best", "runner"]


def test_headline_warns_when_priors_are_correlated():
    """With rank-correlated priors the headline carries one caveat sentence (the indices assume independence)."""
    import pandas as pd

    from simulator.decision.sensitivity import headline

    indices = pd.DataFrame({"S1": [0.4], "S1_se": [0.01]}, index=pd.Index(["market.drift_per_year"], name="prior"))
    plain = headline(indices, None, ("a", "b"))
    caveat = headline(indices, None, ("a", "b"), ["market.drift_per_year", "market.spot_discount"])
    assert "independent" not in plain and caveat.startswith(plain)
    assert "market.drift_per_year, market.spot_discount are rank-correlated" in caveat and "\n" not in caveat


def test_first_order_indices_equal_salib():
    """The vectorised RBD-FAST is SALib's ``rbd_fast.analyze``: same indices, same bootstrap draws and SEs."""
    from SALib.analyze import rbd_fast

    from simulator.decision.sensitivity import first_order_indices

    rng = np.random.default_rng(5)
    x = rng.uniform(size=(2001, 4))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + 0.1 * rng.normal(size=2001)
    names = ["a", "b", "c", "d"]
    frame = first_order_indices(dict(zip(names, x.T, strict=True)), y, harmonics=6, resamples=30, seed=11)
    problem = {"num_vars": 4, "names": names, "bounds": [[0.0, 1.0]] * 4}
    ref = rbd_fast.analyze(problem, x, y, M=6, num_resamples=30, conf_level=0.9, seed=11)
    z = 1.6448536269514722  # the 90% interval's z: SE = conf / (z sqrt 2)
    np.testing.assert_allclose(frame.loc[names, "S1"], ref["S1"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(frame.loc[names, "S1_se"], np.asarray(ref["S1_conf"]) / (z * np.sqrt(2)), rtol=1e-7)
