"""Calendar constants: one definition each, used by validation (config) and by the engine (its ``_constants``)."""

from __future__ import annotations

DAYS_PER_YEAR = 365.25  # Julian year: leap years on average
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
DAYS_PER_WEEK = 7.0
HOURS_PER_DAY = 24.0
