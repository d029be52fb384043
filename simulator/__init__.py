"""gpu-risk: a Monte Carlo risk simulator for GPU compute strategy.

Run ``python -m simulator scenario=hybrid``; see README.md. The public API for notebooks:
:func:`simulator.__main__.load_config` to compose and validate a scenario, :func:`simulator.simulate.simulate`
to run it, :func:`simulator.results.build_dataset` to label the result as an xarray Dataset.
"""

__version__ = "0.1.0"
