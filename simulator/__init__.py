"""gpu-risk: a Monte Carlo risk simulator for GPU compute strategy.

Run ``python -m simulator scenario=hybrid``; see README.md. The public API for notebooks::

    import simulator
    res = simulator.run("hybrid", overrides=["engine.paths=2000"], write=False)  # res.dataset, res.analysis
    simulator.prior_summary(res.config)  # every effective prior: distribution, P10/P50/P90, units, source
    print(simulator.diff_runs("outputs/hybrid/RUN_A", "outputs/hybrid/RUN_B"))  # python -m simulator.diff

or step by step::

    import simulator
    cfg = simulator.load_config(["scenario=hybrid", "engine.paths=2000"])
    ds = simulator.build_dataset(simulator.simulate(cfg), seed=cfg.engine.seed)
    analysis = simulator.analyse(ds, cfg, rerun=simulator.EngineRerun(cfg))  # rerun: the tornado's re-runs

Layers, top to bottom (imports point down only; ``pyproject.toml``'s import-linter contract enforces it):
``app -> sweeps -> report -> decision -> results -> engine -> config``, with ``stats`` usable by all.
"""

from __future__ import annotations

__version__ = "0.1.0"

def __getattr__(name: str):
    """Import the public functions on first use, so ``import simulator`` stays light (no JAX until needed)."""
    if name == "load_config":
        from simulator.config import load_config

        return load_config
    if name == "simulate":
        from simulator.engine.host import simulate

        return simulate
    if name == "build_dataset":
        from simulator.results.dataset import build_dataset

        return build_dataset
    if name == "analyse":
        from simulator.decision.analyse import analyse

        return analyse
    if name == "EngineRerun":
        from simulator.app.tornado_rerun import EngineRerun

        return EngineRerun
    if name in ("run", "RunResult"):
        from simulator.app import notebook

        return getattr(notebook, name)
    if name == "diff_runs":
        from simulator.app.diff_cmd import diff_report

        return diff_report
    if name == "prior_summary":
        from simulator.config.prior_summary import prior_summary

        return prior_summary
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


__all__ = ["EngineRerun", "RunResult", "__version__", "analyse", "build_dataset", "diff_runs", "load_config", "prior_summary",
           "run", "simulate"]
