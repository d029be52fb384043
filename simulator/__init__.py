"""gpu-risk: a Monte Carlo risk simulator for GPU compute strategy.

Run ``python -m simulator scenario=hybrid``; see README.md. The public API for notebooks::

    import simulator
    cfg = simulator.load_config(["scenario=hybrid", "engine.paths=2000"])
    sim = simulator.simulate(cfg)
    ds = simulator.build_dataset(sim, seed=cfg.engine.seed)
    analysis = simulator.analyse(ds, cfg)

Layers, top to bottom (imports point down only; ``pyproject.toml``'s import-linter contract enforces it):
``app -> sweeps -> report -> decision -> results -> engine -> config``, with ``stats`` usable by all.
"""

from __future__ import annotations

__version__ = "0.1.0"

_PUBLIC = {
    "load_config": "simulator.config",
    "simulate": "simulator.engine.host",
    "build_dataset": "simulator.results.dataset",
    "analyse": "simulator.decision.analyse",
}


def __getattr__(name: str):
    """Import the public functions on first use, so ``import simulator`` stays light (no JAX until needed)."""
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


__all__ = ["__version__", "analyse", "build_dataset", "load_config", "simulate"]
