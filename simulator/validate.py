"""Start-up validation: every bad input becomes one line naming the key, the value and what is allowed.

Two layers: OmegaConf (through the schema in :mod:`simulator.schema`) rejects unknown keys and wrong types while Hydra
composes; :func:`check` then walks the typed config and enforces ranges, prior parameters and cross-field rules.
:func:`error_line` turns any of those failures (Hydra, OmegaConf or :class:`ConfigError`) into a single line.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from .schema import Config, PriorSpec

PRIOR_PARAMETERS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "p90"),
    "beta": ("mean", "sd"),
}
NORMAL_SUPPORT_SDS = 5.0  # a normal prior must keep mean +- 5 sd inside its domain; draws are clipped to it


class ConfigError(ValueError):
    """A configuration problem, already phrased as one line for the user."""


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _check_bounds(key: str, value: Any, limits: dict[str, Any]) -> None:
    if "subset_of" in limits:
        for item in value:
            if item not in limits["subset_of"]:
                raise ConfigError(f"{key} contains {_fmt(item)}: allowed items are {', '.join(limits['subset_of'])}")
        return
    if "choices" in limits and value not in limits["choices"]:
        raise ConfigError(f"{key} = {_fmt(value)}: must be one of {', '.join(limits['choices'])}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):
        raise ConfigError(f"{key} = {_fmt(value)}: must be a finite number")
    rules = {
        "ge": (lambda v, b: v >= b, ">="),
        "gt": (lambda v, b: v > b, ">"),
        "le": (lambda v, b: v <= b, "<="),
        "lt": (lambda v, b: v < b, "<"),
    }
    for name, (ok, symbol) in rules.items():
        if name in limits and not ok(value, limits[name]):
            raise ConfigError(f"{key} = {_fmt(value)}: must be {symbol} {_fmt(limits[name])}")


def prior_support(spec: PriorSpec) -> tuple[float, float]:
    """Smallest and largest value a prior can draw (normal: mean +- 5 sd; lognormal and beta: open ends)."""
    if spec.dist == "fixed":
        return spec.value, spec.value
    if spec.dist == "uniform":
        return spec.low, spec.high
    if spec.dist == "normal":
        return spec.mean - NORMAL_SUPPORT_SDS * spec.sd, spec.mean + NORMAL_SUPPORT_SDS * spec.sd
    if spec.dist == "lognormal":
        return math.ulp(0.0), math.inf
    return math.ulp(0.0), 1.0 - 1e-12  # beta


def check_prior(key: str, spec: PriorSpec, domain: dict[str, Any]) -> None:
    """Check that a prior has its parameters, that they are valid, and that its support lies in ``domain``."""
    _check_bounds(f"{key}.dist", spec.dist, {"choices": tuple(PRIOR_PARAMETERS)})
    for name in PRIOR_PARAMETERS[spec.dist]:
        value = getattr(spec, name)
        if value is None:
            needed = ", ".join(PRIOR_PARAMETERS[spec.dist])
            raise ConfigError(f"{key}.{name} is missing: a {spec.dist} prior needs {needed}")
        _check_bounds(f"{key}.{name}", float(value), {})
    if spec.dist == "uniform" and not spec.low < spec.high:
        raise ConfigError(f"{key}.high = {_fmt(spec.high)}: must be > low ({_fmt(spec.low)})")
    if spec.dist == "normal":
        _check_bounds(f"{key}.sd", spec.sd, {"ge": 0.0})
    if spec.dist == "lognormal":
        _check_bounds(f"{key}.median", spec.median, {"gt": 0.0})
        _check_bounds(f"{key}.p90", spec.p90, {"ge": spec.median})
    if spec.dist == "beta":
        _check_bounds(f"{key}.mean", spec.mean, {"gt": 0.0, "lt": 1.0})
        limit = math.sqrt(spec.mean * (1.0 - spec.mean))
        _check_bounds(f"{key}.sd", spec.sd, {"gt": 0.0, "lt": limit})
    low, high = prior_support(spec)
    param = PRIOR_PARAMETERS[spec.dist]
    where = f"{key}.{param[0]}" if spec.dist in ("fixed", "uniform") else key
    shown = _fmt(low) if spec.dist in ("fixed", "uniform") else f"{spec.dist} support down to {_fmt(low)}"
    for name, symbol in (("ge", ">="), ("gt", ">")):
        if name in domain and not (low >= domain[name] if name == "ge" else low > domain[name]):
            raise ConfigError(f"{where} = {shown}: must be {symbol} {_fmt(domain[name])}")
    where = f"{key}.{param[-1]}" if spec.dist in ("fixed", "uniform") else key
    shown = _fmt(high) if spec.dist in ("fixed", "uniform") else f"{spec.dist} support up to {_fmt(high)}"
    for name, symbol in (("le", "<="), ("lt", "<")):
        if name in domain and not (high <= domain[name] if name == "le" else high < domain[name]):
            raise ConfigError(f"{where} = {shown}: must be {symbol} {_fmt(domain[name])}")


def _walk(key: str, node: Any) -> None:
    if isinstance(node, dict):
        for name, child in node.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", str(name)):
                raise ConfigError(f"{key}.{name}: names may use letters, digits, '_' and '-' only")
            _walk(f"{key}.{name}", child)
        return
    if isinstance(node, list):
        for i, child in enumerate(node):
            _walk(f"{key}[{i}]", child)
        return
    if not dataclasses.is_dataclass(node):
        return
    for f in dataclasses.fields(node):
        child = getattr(node, f.name)
        child_key = f"{key}.{f.name}" if key else f.name
        if isinstance(child, PriorSpec):
            check_prior(child_key, child, dict(f.metadata))
        elif isinstance(child, list) and "subset_of" in f.metadata:
            _check_bounds(child_key, child, dict(f.metadata))
        elif dataclasses.is_dataclass(child) or isinstance(child, (dict, list)):
            _walk(child_key, child)
        else:
            _check_bounds(child_key, child, dict(f.metadata))


def check_known_keys(node: Any, obj: Any, key: str = "") -> None:
    """Reject keys that the schema does not know (e.g. added with Hydra's ``+key=value``)."""
    if dataclasses.is_dataclass(obj):
        allowed = [f.name for f in dataclasses.fields(obj)]
        for name in node:
            if name not in allowed:
                where = f"{key}.{name}" if key else str(name)
                raise ConfigError(f"{where}: unknown key; allowed here: {', '.join(allowed)}")
            check_known_keys(node[name], getattr(obj, name), f"{key}.{name}" if key else str(name))
    elif isinstance(obj, dict):
        for name in obj:
            check_known_keys(node[name], obj[name], f"{key}.{name}")


def check(cfg: Config) -> None:
    """Validate a composed config; raise :class:`ConfigError` with one line on the first problem."""
    _walk("", cfg)
    if not cfg.strategies:
        raise ConfigError("strategies is empty: a scenario must list at least one strategy")
    for name, strategy in cfg.strategies.items():
        if not strategy.pools:
            raise ConfigError(f"strategies.{name}.pools is empty: a strategy needs at least one pool")
        kinds = [pool.kind for pool in strategy.pools.values()]
        for kind in set(kinds):
            if kinds.count(kind) > 1:
                raise ConfigError(
                    f"strategies.{name}.pools: kind {kind!r} appears {kinds.count(kind)} times; "
                    "each kind may appear once per strategy"
                )
    paths = cfg.engine.paths
    if paths != "auto" and (isinstance(paths, bool) or not isinstance(paths, int)):
        raise ConfigError(f"engine.paths = {_fmt(paths)}: must be a whole number of paths or 'auto'")
    horizon_days = cfg.engine.horizon_months * 365.25 / 12.0
    if cfg.engine.step_days > 365.25 / 12.0:
        raise ConfigError(f"engine.step_days = {_fmt(cfg.engine.step_days)}: must be <= one month (30.4375)")
    for name, run in cfg.runs.items():
        if run.deadline_day <= run.start_day:
            raise ConfigError(
                f"runs.{name}.deadline_day = {_fmt(run.deadline_day)}: must be > start_day "
                f"({_fmt(run.start_day)})"
            )
        if run.start_day >= horizon_days:
            raise ConfigError(
                f"runs.{name}.start_day = {_fmt(run.start_day)}: must be < the horizon "
                f"({horizon_days:g} days)"
            )


def error_line(exc: BaseException) -> str:
    """One line describing a Hydra, OmegaConf or validation error (the key, the value, what is allowed)."""
    from hydra.errors import MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, ConfigError):
        return f"config error: {exc}"
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
        if isinstance(err, OmegaConfBaseException) and getattr(err, "full_key", None):
            message = str(getattr(err, "msg", "") or err).strip().splitlines()[0]
            return f"config error: {err.full_key}: {message}"
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    detail = [
        line.strip() for line in str(exc).splitlines()[1:] if line.strip() and "HYDRA_FULL_ERROR" not in line
    ]
    extra = f" ({detail[-1]})" if detail and detail[-1] != first else ""
    return f"config error: {first}{extra}"
