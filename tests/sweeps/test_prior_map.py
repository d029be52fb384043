"""The conditional decision map of an in-engine sweep (:mod:`simulator.sweeps.prior_map`), against an independent
pandas computation on planted costs."""

import numpy as np
import pandas as pd

from simulator.sweeps.prior_map import prior_map, prior_map_markdown, prior_map_plot


def test_prior_map_matches_a_groupby_and_finds_where_each_value_pays():
    """C_v(i) = 1e5 (v - 2 x_i)^2 + e_i and R(i) = 2e4 + e_i with x ~ U(0, 1) and a common noise e: given x, the best
    value is the one nearest 2x, so the best value rises across the bins of x; the map's savings equal the
    per-bin means of C_v - R computed by pandas, and the common noise cancels (within noise: the best alone)."""
    rng = np.random.default_rng(7)
    n, values = 20_000, [0.0, 1.0, 2.0]
    x, e = rng.uniform(size=n), rng.normal(0.0, 5e4, size=n)
    cost = np.stack([1e5 * (v - 2 * x) ** 2 + e for v in values])
    reference = 2e4 + e
    m = prior_map(cost, reference, x, values, bins=5, confidence=0.95,
                  names=("trigger", "workload.growth", "renting", "gpus"))
    frame = pd.DataFrame({"bin": pd.qcut(x, 5, labels=False)} | {v: cost[j] - reference for j, v in enumerate(values)})
    expected = frame.groupby("bin").mean()
    np.testing.assert_allclose(m.saving.values, expected.values, rtol=1e-9)
    assert list(m.best) == [values[int(np.argmin(row))] for row in expected.values]
    assert list(m.best) == sorted(m.best) and m.best.iloc[0] == 0.0 and m.best.iloc[-1] == 2.0
    assert all(len(close) == 1 for close in m.within_noise)
    assert m.saving.loc[m.saving.index[0], 0.0] < 0.0  # owning at value 0 beats the reference when x is small
    lines = "\n".join(prior_map_markdown(m))
    assert "best gpus" in lines and m.saving.index[0] in lines
    assert prior_map_plot(m).get_title().startswith("trigger")
