"""Every effective prior of a config in one table: distribution, P10/P50/P90, units, source and whether it changed.

One row per prior the engine draws (:func:`simulator.config.correlations.flat_priors`: the prior groups of
:data:`simulator.config.priors.PARAMETERS`, with ``hosting`` twice as ``onprem`` and ``colo``, then
``runs.NAME.FIELD`` and ``providers.NAME.FIELD``), after the scenario and the overrides.

Notes
-----
The quantiles are those of the distribution the engine samples (:mod:`simulator.engine.priors`, each value is
``clip(F^{-1}(U), low, high)`` with ``[low, high]`` the parameter's domain), so ``p_q = clip(F^{-1}(q))``:

* fixed(value): ``p_q = value``;
* uniform(low, high): ``p_q = low + (high - low) q``;
* normal(mean, sd): ``p_q = mean + sd Phi^{-1}(q)``;
* lognormal(median, p90): ``p_q = median exp(sigma Phi^{-1}(q))``, ``sigma = ln(p90 / median) / z_0.9``;
* beta(mean m, sd s): ``Beta(alpha, beta)`` with ``nu = m (1 - m) / s^2 - 1``, ``alpha = m nu``,
  ``beta = (1 - m) nu`` (scipy's ``beta.ppf``; the engine interpolates a table of it, error < 1e-5 relative).

``source`` is the YAML comment written next to the prior (the comment lines just above its key, or on its line; a
key right below a commented sibling shares that comment), looked up in the scenario file first, then the region
presets, then ``conf/priors/default.yaml`` and ``conf/providers/default.yaml``; a prior set by an override says so.
The comments are read by :func:`yaml_comments`, a small line-based reader of the block-style YAML of ``conf/``.
``changed`` is True when the effective spec differs from the default one: ``conf/priors/default.yaml`` (electricity:
the default region preset, ``conf/region/us.yaml``), ``conf/providers/default.yaml``, and for a named run (runs exist
only in scenarios) the scenario file itself.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf
from scipy import stats

from simulator.config.correlations import flat_priors
from simulator.config.load import CONF_DIR
from simulator.config.priors import PriorSpec

COLUMNS = ["prior", "distribution", "p10", "p50", "p90", "units", "source", "changed"]
QUANTILES = (0.1, 0.5, 0.9)
SPEC_FIELDS = {"fixed": ("value",), "uniform": ("low", "high"), "normal": ("mean", "sd"),
               "lognormal": ("median", "p90"), "beta": ("mean", "sd")}
DEFAULT_REGION = "us"  # conf/config.yaml's defaults list
_UNIT_NAMES = {  # whole field names first ...
    "growth_multiplier_per_year": "x/yr", "volatility_per_year": "1/sqrt(yr)", "drift_per_year": "log/yr",
    "resale_retention_per_year": "fraction/yr", "support_share_per_year": "fraction/yr",
    "lease_rate_factor_per_month": "fraction/month", "pue": "ratio", "fte_per_100_gpus": "FTE/100 GPUs",
    "base_gpu_hours_per_day": "GPU-h/day", "gpu_hours": "GPU-h", "units_per_gpu_hour": "units/GPU-h",
    "included_units": "units", "usd_per_unit": "USD/unit", "kw_per_gpu": "kW/GPU", "min_commit_kw": "kW",
    "first_cycle_applied": "probability", "usd_per_gpu_hour": "USD/GPU-h",
}
_UNIT_SUFFIXES = (  # ... then the first matching suffix
    ("_usd_per_gpu_hour_day", "USD/GPU-h/day"), ("_usd_per_gpu_hour", "USD/GPU-h"), ("_usd_per_gpu", "USD/GPU"),
    ("_usd_per_kwh", "USD/kWh"), ("_usd_per_tb_month", "USD/TB-month"), ("_usd_per_tb", "USD/TB"),
    ("_usd_per_kw_month", "USD/kW-month"), ("_usd_per_kw", "USD/kW"), ("_usd_per_fte_year", "USD/FTE-yr"),
    ("_usd_per_year", "USD/yr"), ("_usd_per_month", "USD/month"), ("_usd_per_day", "USD/day"), ("_usd", "USD"),
    ("_per_gpu_hour", "1/GPU-h"), ("_per_instance_hour", "1/instance-h"), ("_per_hour", "1/h"),
    ("_probability", "probability"), ("_fraction", "fraction"), ("_share", "fraction"), ("discount", "fraction"),
    ("discount_1y", "fraction"), ("discount_3y", "fraction"), ("_multiplier", "x"), ("loading_", "exponent"),
    ("_gpus", "GPUs"), ("gpus_", "GPUs"), ("_fte", "FTE"), ("_days", "days"), ("_day", "day"),
    ("_weeks", "weeks"), ("_months", "months"), ("_hours", "h"), ("_tb", "TB"),
)


def units_of(prior: str) -> str:
    """The units of a prior from its field name (``market.hardware_usd_per_gpu`` -> ``USD/GPU``); KeyError for a
    name no rule covers, so a new prior cannot go without units."""
    name = prior.rsplit(".", 1)[-1]
    if name in _UNIT_NAMES:
        return _UNIT_NAMES[name]
    for pattern, unit in _UNIT_SUFFIXES:
        if name.endswith(pattern) or (pattern.endswith("_") and name.startswith(pattern)):
            return unit
    raise KeyError(f"no units known for the prior {prior}: add a rule to simulator.config.prior_summary")


def spec_parameters(spec: PriorSpec) -> dict[str, float]:
    """The parameters its distribution uses (the others are ignored by the engine)."""
    return {k: getattr(spec, k) for k in SPEC_FIELDS[spec.dist]}


def describe(spec: PriorSpec) -> str:
    """The distribution in words: ``fixed 0.3``, ``lognormal(median 2, p90 3)``, ``beta(mean 0.2, sd 0.1)``."""
    params = spec_parameters(spec)
    if spec.dist == "fixed":
        return f"fixed {spec.value:g}"
    return f"{spec.dist}({', '.join(f'{k} {v:g}' for k, v in params.items())})"


def clip_range(domain: dict[str, Any]) -> tuple[float, float]:
    """``[low, high]`` of a parameter's domain (schema metadata ``ge``/``gt``/``le``/``lt``), as the engine clips."""
    return (max(domain.get("ge", -math.inf), domain.get("gt", -math.inf)),
            min(domain.get("le", math.inf), domain.get("lt", math.inf)))


def frozen(spec: PriorSpec):
    """The scipy distribution of a non-fixed spec, before clipping (module Notes); None for ``fixed``."""
    if spec.dist == "uniform":
        return stats.uniform(spec.low, spec.high - spec.low)
    if spec.dist == "normal":
        return stats.norm(spec.mean, spec.sd)
    if spec.dist == "lognormal":
        return stats.lognorm(math.log(spec.p90 / spec.median) / stats.norm.ppf(0.9), scale=spec.median)
    if spec.dist == "beta":
        nu = spec.mean * (1.0 - spec.mean) / spec.sd**2 - 1.0
        return stats.beta(spec.mean * nu, (1.0 - spec.mean) * nu)
    return None


def quantiles(spec: PriorSpec, domain: dict[str, Any], qs=QUANTILES) -> list[float]:
    """``clip(F^{-1}(q), low, high)`` for each ``q``: the engine's distribution (module Notes)."""
    low, high = clip_range(domain)
    dist = frozen(spec)
    values = [spec.value] * len(qs) if dist is None else dist.ppf(qs)
    return [float(min(max(v, low), high)) for v in values]


def yaml_comments(path: Path, prefix: str = "") -> dict[str, str]:
    """The comment of every key of a block-style YAML file, by dotted key (``prefix.`` first, for a file that
    is a config group's package). A key's comment is the run of comment lines just above it plus the one on its
    line; a key directly below a commented sibling (no blank line between) shares that sibling's comment."""
    comments: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    last: tuple[int, str] | None = None  # (indent, comment) of the previous key, for siblings without one
    for line in Path(path).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("- "):
            pending, last = ([], None) if not stripped else (pending, last)
            continue
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        match = re.match(r"^(\s*)([\w\-]+):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        inline = rest.split(" #", 1)[1].strip() if " #" in rest else ""
        text = " ".join([*pending, inline]).strip()
        if not text and last is not None and last[0] == indent:
            text = last[1]
        dotted = ".".join(k for _, k in stack)
        comments[f"{prefix}.{dotted}" if prefix else dotted] = text
        last, pending = (indent, text), []
    return comments


def _sources(scenario: str) -> list[dict[str, str]]:
    """Comment tables in lookup order: the scenario, the region presets, the default priors and providers."""
    tables = []
    if scenario and (CONF_DIR / "scenario" / f"{scenario}.yaml").is_file():
        tables.append(yaml_comments(CONF_DIR / "scenario" / f"{scenario}.yaml"))
    region_files = sorted((CONF_DIR / "region").glob("*.yaml"), key=lambda p: p.stem != DEFAULT_REGION)
    tables += [yaml_comments(p) for p in region_files]
    tables.append(yaml_comments(CONF_DIR / "priors" / "default.yaml", "priors"))
    tables.append(yaml_comments(CONF_DIR / "providers" / "default.yaml", "providers"))
    return tables


def _defaults(scenario: str) -> dict[str, Any]:
    """The default spec dicts: priors, the default region, providers, and the scenario's runs."""
    base = OmegaConf.create({"priors": OmegaConf.load(CONF_DIR / "priors" / "default.yaml"),
                             "providers": OmegaConf.load(CONF_DIR / "providers" / "default.yaml")})
    base = OmegaConf.merge(base, OmegaConf.load(CONF_DIR / "region" / f"{DEFAULT_REGION}.yaml"))
    path = CONF_DIR / "scenario" / f"{scenario}.yaml"
    if scenario and path.is_file():
        base = OmegaConf.merge(base, {"runs": OmegaConf.load(path).get("runs", {})})
    return OmegaConf.to_container(base)


def _lookup(tree: dict, dotted: str):
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _changed(spec: PriorSpec, default: Any) -> bool:
    if not isinstance(default, dict) or default.get("dist", "fixed") != spec.dist:
        return True
    return any(default.get(k) is None or not math.isclose(float(default[k]), float(v), rel_tol=1e-9, abs_tol=0.0)
               for k, v in spec_parameters(spec).items())


def prior_summary(config, overrides: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """The effective priors of a validated config, one row each, columns :data:`COLUMNS` (module Notes).

    Parameters
    ----------
    config : simulator.config.schema.Config
        A validated config (:func:`simulator.load_config`).
    overrides : list of str, optional
        The command-line overrides it was composed with: a prior they set gets ``source`` "override: KEY=VALUE".

    Returns
    -------
    pandas.DataFrame
        ``prior`` (dotted name: ``market.drift_per_year``, ``runs.NAME.FIELD``, ``providers.NAME.FIELD``),
        ``distribution`` (in words), ``p10``, ``p50``, ``p90`` (of the clipped distribution the engine samples),
        ``units``, ``source`` (the YAML comment), ``changed`` (differs from the default).
    """
    scenario = getattr(config, "scenario", "")
    tables, defaults = _sources(scenario), _defaults(scenario)
    rows = []
    for name, (spec, domain) in flat_priors(config).items():
        key = name if name.split(".", 1)[0] in ("runs", "providers") else f"priors.{name}"
        given = [o for o in overrides if (o.lstrip("+~").split("=", 1)[0] + ".").startswith(key + ".")]
        source = next((t[key] for t in tables if t.get(key)), "")
        source = f"override: {', '.join(given)}" if given else source
        rows.append([name, describe(spec), *quantiles(spec, domain), units_of(name), source,
                     _changed(spec, _lookup(defaults, key))])
    return pd.DataFrame(rows, columns=COLUMNS)
