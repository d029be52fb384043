"""PRIM finds a planted box on uniform draws, with and without label noise, and names only the priors that matter."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.decision.prim import prim, screen

N = 6000


def draws(seed: int = 0, d: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"g.x{k}": rng.uniform(size=N) for k in range(1, d + 1)}


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_planted_box(noise):
    x = draws()
    target = (x["g.x1"] > 0.7) & (x["g.x2"] < 0.3)
    flip = np.random.default_rng(1).uniform(size=N) < noise
    box = prim(x, target ^ flip)
    assert set(box.bounds) == {"g.x1", "g.x2"}
    (low1, high1), (low2, high2) = box.bounds["g.x1"], box.bounds["g.x2"]
    assert abs(low1 - 0.7) < 0.05 and high1 > 0.95  # an open side is inf
    assert low2 < 0.05 and abs(high2 - 0.3) < 0.05
    inside = (x["g.x1"] >= low1) & (x["g.x1"] <= high1) & (x["g.x2"] >= low2) & (x["g.x2"] <= high2)
    y = target ^ flip
    assert box.coverage == pytest.approx(y[inside].sum() / y.sum())
    assert box.density == pytest.approx(y[inside].mean())
    assert box.base_rate == pytest.approx(y.mean())
    if noise == 0:
        assert box.density == 1.0 and box.coverage > 0.9
    assert "g.x1" in box.describe() and "g.x2" in box.describe() and " and " in box.describe()


def test_no_signal_gives_no_box():
    x = draws(2)
    box = prim(x, np.random.default_rng(3).uniform(size=N) < 0.3)
    assert box.bounds == {} and box.coverage == 1.0
    assert box.describe().startswith("anywhere")


def test_screen_ranks_by_the_rank_sum_shift():
    x = draws(4)
    target = x["g.x3"] + 0.3 * x["g.x5"] > 0.8
    assert screen(x, target)[:2] == ["g.x3", "g.x5"]
    assert screen(x, np.zeros(N, bool)) == []
