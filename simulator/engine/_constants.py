"""Calendar constants (from :mod:`simulator.config.calendar`) and named numerical floors of the engine.

The floors keep a division or a logarithm finite where its argument can be zero; each is far below any value a
model quantity takes when it matters, so none of them changes a result that is not degenerate.
"""

from __future__ import annotations

from simulator.config.calendar import DAYS_PER_MONTH, DAYS_PER_WEEK, DAYS_PER_YEAR, HOURS_PER_DAY

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_WEEK", "DAYS_PER_YEAR", "DIVISOR_FLOOR", "HOURS_PER_DAY",
           "PROBABILITY_FLOOR", "RESALE_RETENTION_FLOOR", "UP_HOURS_FLOOR"]

DIVISOR_FLOOR = 1e-30  # floor of a divisor that may be zero: a price (``budget / price``), useful GPU-hours
UP_HOURS_FLOOR = 1e-9  # divisor floor for up GPU-hours in a month's utilisation (no GPUs up: utilisation 0)
PROBABILITY_FLOOR = 1e-12  # divisor floor for ``1 - p`` in odds ``p / (1 - p)``
RESALE_RETENTION_FLOOR = 1e-6  # retention per year is floored here, so ``rho^{-d}`` and ``log(rho)`` stay finite
