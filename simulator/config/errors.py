"""User-facing errors and their one-line phrasing.

:class:`ConfigError` is a configuration problem found at start-up; :class:`SimulationOverflow` is a run whose numbers
left the engine's range (a valid config, too large for the dtype). :func:`error_line` turns either, and any Hydra or
OmegaConf failure while composing, into a single line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import re
from typing import Any


class ConfigError(ValueError):
    """A configuration problem, already phrased as one line for the user."""


class SimulationOverflow(ArithmeticError):
    """A run produced NaN or infinite outputs: a prior or setting is too large for the engine's numbers.

    Not a :class:`ConfigError`: the config is valid, the run could not carry its magnitudes. Already one line.
    """


def _shown(path: str) -> str:
    """A file name as the user knows it: relative to the working directory when inside it."""
    import os

    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith("..") else relative


def _config_file_of(exc: BaseException) -> str | None:
    """The config file Hydra was reading when ``exc`` was raised (``full_path`` in the traceback's frames)."""
    tb, path = exc.__traceback__, None
    while tb is not None:
        value = tb.tb_frame.f_locals.get("full_path")
        path = value if isinstance(value, str) else path
        tb = tb.tb_next
    return path


def _yaml_error_line(err: Any) -> str | None:
    """``FILE: line L, column C: problem (context)`` for a YAML syntax error, or None."""
    mark = getattr(err, "problem_mark", None)
    if mark is None or not getattr(err, "problem", None):
        return None
    name = _shown(mark.name)
    context = f" ({err.context})" if getattr(err, "context", None) else ""
    return f"config error: {name}: line {mark.line + 1}, column {mark.column + 1}: {err.problem}{context}"


def error_line(exc: BaseException) -> str:
    """One line describing a Hydra, OmegaConf or validation error (the key, the value, what is allowed), or an overflow."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, ConfigError):
        return f"config error: {exc}"
    if isinstance(exc, SimulationOverflow):
        return f"simulation error: {exc}"
    if isinstance(exc, OverrideParseException) and getattr(exc, "override", None):
        problem = str(exc).strip().splitlines()[0]
        return (
            f"config error: {exc.override}: not a valid override ({problem}; "
            "see https://hydra.cc/docs/advanced/override_grammar/basic/)"
        )
    if isinstance(exc, MissingConfigException):
        text = str(exc)
        match = re.search(r"Could not find '([^']+)'", text)
        missing = match.group(1) if match else "?"
        options = re.findall(r"^\t(\S+)$", text, flags=re.M)
        group, _, option = missing.rpartition("/")
        where = "scenarios/" if group == "scenario" else f"conf/{group}/"
        allowed = f"; available: {', '.join(options)}" if options else ""
        return f"config error: {group or 'config'}={option}: no such file {where}{option}.yaml{allowed}"
    chain, cause = [], exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for err in chain:
        line = _yaml_error_line(err)
        if line:
            return line
    for err in chain:
        if isinstance(err, OmegaConfBaseException) and getattr(err, "full_key", None):
            message = str(getattr(err, "msg", "") or err).strip().splitlines()[0]
            if err.full_key == "scenario" and "Cannot convert" in message:
                message = (
                    "a scenario file must be a mapping of config keys that starts with '# @package _global_' "
                    f"(see scenarios/hybrid.yaml); here: {message}"
                )
            return f"config error: {err.full_key}: {message}"
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    path = _config_file_of(exc)
    if isinstance(exc, OSError) and path:  # e.g. a scenario file that is a bare number
        return f"config error: {_shown(path)}: {first} (a config file is a YAML mapping of keys)"
    detail = [
        line.strip()
        for line in str(exc).splitlines()[1:]
        if line.strip(" ^\t")
        and "HYDRA_FULL_ERROR" not in line
        and not line.strip().startswith(("full_key:", "object_type=", "reference_type="))
    ]
    extra = f" ({detail[0]})" if detail and detail[0] != first else ""
    return f"config error: {first}{extra}"
