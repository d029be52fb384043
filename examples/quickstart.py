"""Quickstart: the notebook API in a script (``# %%`` cells: VS Code and Jupytext open it as a notebook).

Run ``python examples/quickstart.py`` (2,000 paths; about a minute on a laptop CPU), or with overrides of your own:
``python examples/quickstart.py debug=tiny``. It writes two run directories under ``outputs/hybrid/`` in the
current directory and compares them.
"""

# %% Imports: `import simulator` is light; JAX loads on the first run.
import sys

import simulator

overrides = sys.argv[1:] or ["engine.paths=2000"]

# %% The priors the run will draw from: distribution, P10/P50/P90, units, source, changed from the defaults.
config = simulator.load_config(["scenario=hybrid", *overrides])
priors = simulator.prior_summary(config)
print(priors[["prior", "distribution", "p10", "p50", "p90", "units"]].head(8).to_string(index=False))

# %% One run, nothing written: the Dataset and the analysis come back (in Jupyter the result shows as a table).
res = simulator.run("hybrid", overrides=overrides)
print(res)
print(res.dataset["cost"].mean("path").to_series().sort_values().head(3))

# %% Write both runs (results.nc, summary.md, config_resolved.yaml, ...): the default run directory is
# outputs/<scenario>/<timestamp>, as on the command line.
base = simulator.run("hybrid", overrides=overrides, write=True)
faster = simulator.run("hybrid", overrides=[*overrides, "priors.workload.growth_multiplier_per_year.median=3.0",
                                            "priors.workload.growth_multiplier_per_year.p90=4.5"], write=True)

# %% What changed, with SEs (paired: same seed and paths); the same as `python -m simulator.diff RUN_A RUN_B`.
print(simulator.diff_runs(base.run_dir, faster.run_dir))
