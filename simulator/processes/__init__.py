"""Risk drivers: one small pure module per process, each with its formula in its docstring."""

from . import failures, market, spot, workload
from .sampling import poisson_from_uniform

__all__ = ["failures", "market", "poisson_from_uniform", "spot", "workload"]
