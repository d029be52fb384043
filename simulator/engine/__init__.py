"""The Monte Carlo engine: pure JAX (kinds, priors, processes, strategies, pools, routing, accounting, step, scan) and one host layer (chunks, devices, progress).

Public helpers for other packages and the benchmarks: the calendar constants, and :mod:`keys` (the named random
streams, so a benchmark draws exactly the engine's variates).
"""

from simulator.engine import _keys as keys
from simulator.engine._constants import DAYS_PER_MONTH, DAYS_PER_WEEK, DAYS_PER_YEAR, HOURS_PER_DAY

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_WEEK", "DAYS_PER_YEAR", "HOURS_PER_DAY", "keys"]
