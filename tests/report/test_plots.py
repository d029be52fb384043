"""Distribution plots label a strategy that fails a constraint, and save_all writes every PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from simulator.report.plots import cost_distribution, cost_fan_chart, delay_distribution, save_all  # noqa: E402


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(0)
    cost = rng.lognormal(14.0, 0.2, (2, 200))
    cumulative = np.cumsum(rng.exponential(1e5, (2, 20, 6)), axis=-1)
    return xr.Dataset(
        {"cost": (("strategy", "path"), cost), "delay": (("strategy", "path"), rng.exponential(1.0, (2, 200))),
         "cumulative_cost": (("strategy", "trajectory_path", "month"), cumulative)},
        coords={"strategy": ["steady", "cheap"], "month": np.arange(1, 7)}, attrs={"paths": 200},
    )


def test_excluded_strategies_are_labelled_in_every_plot(tmp_path):
    ds = _dataset()
    ax = cost_distribution(ds, excluded=["cheap"])
    assert {t.get_text() for t in ax.get_yticklabels()} == {"steady", "cheap (excluded)"}
    assert "cost of service" in ax.get_xlabel()
    for plot in (delay_distribution, cost_fan_chart):
        ax = plot(ds, excluded=["cheap"])
        assert "cheap (excluded)" in {t.get_text() for t in ax.get_legend().get_texts()}
    plt.close("all")
    assert {p.name for p in save_all(ds, tmp_path, excluded=["cheap"])} == {
        "cost_distribution.png", "delay_distribution.png", "cost_fan_chart.png"}
