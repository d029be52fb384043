"""Command-line overrides that pick config files are checked before Hydra reads any file.

A config-group choice (``scenario=NAME``, ``engine=NAME``, ...) names a YAML file and, for the scenario, the run
directory ``outputs/NAME/<timestamp>``: :func:`check_overrides` allows plain file names only (:data:`FILE_NAME`).
"""

from __future__ import annotations

import re

from simulator.config.errors import ConfigError

CONFIG_GROUPS = ("scenario", "engine", "priors", "region", "report", "decision", "strategy", "debug")  # chosen by file name
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")  # a config file's name: no path separators, no dots


def check_overrides(overrides: list[str]) -> None:
    """Reject a config-group choice that is not a plain file name (``scenario=../../x``) before Hydra reads files.

    A group choice picks ``conf/GROUP/NAME.yaml`` (``scenarios/NAME.yaml``), and the scenario's name is part of the
    run directory (``outputs/NAME/<timestamp>``): letters, digits, '_' and '-' only, so no override can read a file
    outside the config tree or write outside ``outputs/``. Sweeps (``scenario=a,b``) check every name; an override
    Hydra cannot parse is left to Hydra's own message.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if isinstance(o, str)])
    except HydraException:
        return
    for override in parsed:
        group = override.key_or_group
        if group not in CONFIG_GROUPS or override.is_delete():
            continue
        value = override.value()
        names = value.list if isinstance(value, ChoiceSweep) else [value]
        for name in names:
            if not (isinstance(name, str) and FILE_NAME.fullmatch(name)):
                where = "scenarios/" if group == "scenario" else f"conf/{group}/"
                raise ConfigError(
                    f"{override.input_line}: the {group} name may use letters, digits, '_' and '-' only "
                    f"(it picks {where}NAME.yaml)"
                )
