"""Configuration: typed schema, priors schema, loading, validation and errors. Nothing below this package sees a
DictConfig.

The public names are re-exported here (``from simulator.config import Config, load_config, ConfigError``); the
modules: :mod:`.schema` and :mod:`.priors` (dataclasses), :mod:`.load` (compose with Hydra, type, validate),
:mod:`.validate` (ranges and priors), :mod:`.overrides` (command-line file choices), :mod:`.sweeps` (in-engine sweep
variants) and :mod:`.errors` (the exceptions and their one-line phrasing).
"""

from simulator.config.errors import ConfigError, SimulationOverflow, error_line
from simulator.config.load import CONF_DIR, load_config, to_validated
from simulator.config.overrides import check_overrides
from simulator.config.priors import Priors, PriorSpec
from simulator.config.schema import (
    POOL_KINDS,
    Config,
    DataPolicy,
    DecisionConfig,
    EngineConfig,
    PoolConfig,
    ReportConfig,
    RunConfig,
    StrategyConfig,
    SweepConfig,
)
from simulator.config.validate import check

__all__ = [
    "CONF_DIR",
    "POOL_KINDS",
    "Config",
    "ConfigError",
    "DataPolicy",
    "DecisionConfig",
    "EngineConfig",
    "PoolConfig",
    "PriorSpec",
    "Priors",
    "ReportConfig",
    "RunConfig",
    "SimulationOverflow",
    "StrategyConfig",
    "SweepConfig",
    "check",
    "check_overrides",
    "error_line",
    "load_config",
    "to_validated",
]
