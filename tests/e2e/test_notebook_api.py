"""The notebook API of README and ``simulator/__init__``: load, simulate, label and analyse, no files written."""

from __future__ import annotations

import numpy as np

import simulator


def test_notebook_api_runs_end_to_end_without_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = simulator.load_config(["scenario=hybrid", "debug=tiny"])
    ds = simulator.build_dataset(simulator.simulate(cfg), seed=cfg.engine.seed)
    analysis = simulator.analyse(ds, cfg, rerun=simulator.EngineRerun(cfg))
    np.testing.assert_array_equal(ds["run_deadline_day"].values, [r.deadline_day for r in cfg.runs.values()])
    assert list(analysis.metrics.index) == list(cfg.strategies)
    assert analysis.recommendation.best in cfg.strategies
    assert analysis.tornado is not None and len(analysis.tornado) > 0  # the injected re-run was used
    assert not any(tmp_path.iterdir())  # nothing written
