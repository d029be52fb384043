"""The Monte Carlo engine: pure JAX (kinds, priors, processes, strategies, pools, routing, accounting, step, scan) and one host layer (chunks, devices, progress)."""
