"""Risk drivers: one small pure module per process, each with its formula in its docstring."""

from . import academic, failures, fleet, market, spot, workload
from .sampling import poisson_from_uniform

__all__ = ["academic", "failures", "fleet", "market", "poisson_from_uniform", "spot", "workload"]
