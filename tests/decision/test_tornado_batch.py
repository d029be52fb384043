"""The tornado's batched re-runs (one vmapped engine call for every pinned set) agree with one call per set."""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator.app.tornado_rerun import EngineRerun
from simulator.config.load import load_config
from simulator.decision.sensitivity import tornado

PRIOR = "providers.hyperscaler.spot_discount"


def test_batched_reruns_equal_separate_ones():
    cfg = load_config(["scenario=hybrid", "engine.horizon_months=2", "engine.chunk_size=64",
                       "decision.sensitivity.tornado_paths=96"])  # two chunks of 64 paths, the second padded
    cfg = dataclasses.replace(cfg, strategies={name: cfg.strategies[name] for name in ("hybrid", "spot")})
    rerun = EngineRerun(cfg)
    pair = ("spot", "hybrid")  # not the scenario's order: columns follow the pair
    pinned = [{}, {PRIOR: rerun.prior_quantile(PRIOR, 0.1)}, {PRIOR: rerun.prior_quantile(PRIOR, 0.9)}]
    batched = rerun.many(pair, pinned)
    separate = [rerun(pair, p) for p in pinned]
    assert len(batched) == 3
    for b, s in zip(batched, separate, strict=True):
        assert b.shape == s.shape == (2, 96)
        np.testing.assert_allclose(b, s, rtol=2e-6)  # float32 rounding: one program instead of another
    assert not np.allclose(batched[1], batched[2])  # the pinned values reach the engine

    class Separate:  # the same re-runs without ``many``: the tornado's fallback, one call per set
        paths = rerun.paths
        prior_quantile = rerun.prior_quantile
        __call__ = staticmethod(rerun.__call__)

    fast = tornado(rerun, pair, [PRIOR], cfg.decision)
    slow = tornado(Separate(), pair, [PRIOR], cfg.decision)
    for column in ("low_margin", "high_margin", "low_change_se", "high_change_se"):
        assert fast.loc[PRIOR, column] == np.float64(slow.loc[PRIOR, column]) or np.isclose(
            fast.loc[PRIOR, column], slow.loc[PRIOR, column], rtol=1e-5)
