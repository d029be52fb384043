"""Start-up validation: every bad input becomes one line naming the key, the value and what is allowed.

Two layers: OmegaConf (through the schema in :mod:`simulator.config.schema`) rejects unknown keys and wrong types while Hydra
composes; :func:`check` then walks the typed config and enforces ranges, prior parameters and cross-field rules.
:func:`simulator.config.errors.error_line` turns any of those failures into a single line.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from simulator.config.calendar import DAYS_PER_MONTH
from simulator.config.correlations import check_correlations, flat_priors
from simulator.config.errors import ConfigError
from simulator.config.providers import check_providers
from simulator.config.schema import RESERVED_KNOBS, UNIT_ANCHOR_GPU, Config, PoolConfig, PriorSpec, pool_gpu
from simulator.config.sweeps import check_prior_maps

PRIOR_PARAMETERS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "p90"),
    "beta": ("mean", "sd"),
}
NORMAL_SUPPORT_SDS = 5.0  # a normal prior must keep mean +- 5 sd inside its domain; draws are clipped to it
NUMBER_LIMIT = 3.4028234663852886e38  # largest float32: every number the engine reads must be representable
MIN_STEP_DAYS = 1.0 / 24.0  # one hour: finer steps only multiply the run time (and a tiny step never finishes)
SUMMARY_QUANTILES = (0.05, 0.5, 0.95)  # the summary table's P5 / P50 / P95 columns


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _check_bounds(key: str, value: Any, limits: dict[str, Any]) -> None:
    if "subset_of" in limits:
        for item in value:
            if item not in limits["subset_of"]:
                raise ConfigError(f"{key} contains {_fmt(item)}: allowed items are {', '.join(limits['subset_of'])}")
        return
    if "choices" in limits and value not in limits["choices"]:
        raise ConfigError(f"{key} = {_fmt(value)}: must be one of {', '.join(map(str, limits['choices']))}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):
        raise ConfigError(f"{key} = {_fmt(value)}: must be a finite number")
    if abs(value) > NUMBER_LIMIT:
        raise ConfigError(f"{key} = {_fmt(value)}: out of the engine's number range (magnitude <= 3.4e38)")
    rules = {
        "ge": (lambda v, b: v >= b, ">="),
        "gt": (lambda v, b: v > b, ">"),
        "le": (lambda v, b: v <= b, "<="),
        "lt": (lambda v, b: v < b, "<"),
    }
    for name, (ok, symbol) in rules.items():
        if name in limits and not ok(value, limits[name]):
            raise ConfigError(f"{key} = {_fmt(value)}: must be {symbol} {_fmt(limits[name])}")


def _check_distributed(engine) -> None:
    """The explicit multi-host settings: read only with ``engine.distributed``, a process index below the count."""
    explicit = {k: getattr(engine, k) for k in ("coordinator_address", "num_processes", "process_id")}
    for key, value in explicit.items():
        if value is not None and not engine.distributed:
            raise ConfigError(f"engine.{key} = {_fmt(value)}: only read with engine.distributed=true")
    if None not in (engine.num_processes, engine.process_id) and engine.process_id >= engine.num_processes:
        raise ConfigError(f"engine.process_id = {engine.process_id}: must be < engine.num_processes "
                          f"({engine.num_processes})")


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
        knobs = key.startswith("sweeps.") and key.endswith(".knobs")  # dotted knob paths: pools.base.gpus, x.order.1
        for name, child in node.items():
            if not knobs and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", str(name)) or \
                    knobs and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*", str(name)):
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
    target = cfg.decision.optimise_strategy  # the strategy a sweeper (Optuna) optimises: app/run.py
    if target is not None and target not in cfg.strategies:
        raise ConfigError(f"decision.optimise_strategy = {target!r}: not a strategy of this scenario "
                          f"({', '.join(cfg.strategies)})")
    check_providers(cfg)
    paths = cfg.engine.paths
    if paths != "auto" and (isinstance(paths, bool) or not isinstance(paths, int)):
        raise ConfigError(f"engine.paths = {_fmt(paths)}: must be a whole number of paths or 'auto'")
    if cfg.engine.shards > 1 and (paths == "auto" or paths <= cfg.report.path_level_paths):
        raise ConfigError(f"engine.shards = {cfg.engine.shards}: only a streamed run can be sharded (engine.paths "
                          f"a number > report.path_level_paths = {cfg.report.path_level_paths})")
    horizon_days = cfg.engine.horizon_months * DAYS_PER_MONTH
    if cfg.engine.step_days > DAYS_PER_MONTH:
        raise ConfigError(f"engine.step_days = {_fmt(cfg.engine.step_days)}: must be <= one month ({DAYS_PER_MONTH:g})")
    if cfg.engine.step_days < MIN_STEP_DAYS:
        raise ConfigError(f"engine.step_days = {_fmt(cfg.engine.step_days)}: must be >= one hour (0.0416667)")
    _check_distributed(cfg.engine)
    _check_quantiles(cfg.report.quantiles)
    _check_gpus(cfg)
    _check_capex(cfg)
    check_correlations(cfg)
    check_prior_maps(cfg, flat_priors(cfg))
    _check_reserved(cfg)
    _check_procurement(cfg)
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


def _check_quantiles(quantiles: list[float]) -> None:
    """Summary quantiles: each in (0, 1), distinct as percentiles, and the summary's P5, P50 and P95 among them."""
    percents = []
    for i, q in enumerate(quantiles):
        _check_bounds(f"report.quantiles[{i}]", q, {"ge": 0.01, "le": 0.99})
        if round(100 * q) in percents:
            raise ConfigError(f"report.quantiles[{i}] = {_fmt(q)}: another quantile has the same percentile")
        percents.append(round(100 * q))
    missing = [q for q in SUMMARY_QUANTILES if round(100 * q) not in percents]
    if missing:
        shown = ", ".join(_fmt(float(q)) for q in quantiles)
        raise ConfigError(
            f"report.quantiles = [{shown}]: must include {', '.join(map(str, SUMMARY_QUANTILES))} "
            "(the summary's P5, P50 and P95 columns)"
        )


def prior_median(spec: PriorSpec) -> float:
    """Median of a validated prior (beta: its mean, close enough for the checks below)."""
    return {
        "fixed": lambda s: s.value,
        "uniform": lambda s: 0.5 * (s.low + s.high),
        "normal": lambda s: s.mean,
        "lognormal": lambda s: s.median,
        "beta": lambda s: s.mean,
    }[spec.dist](spec)


def _usd(x: float) -> str:
    return f"${x:,.0f}" if abs(x) < 1e15 else f"${x:.3g}"


CONVERSIONS = {"notebook": "colab_units_per_hour", "academic": "alliance_rgu"}
"""The GPU-table field through which a kind's units convert (its pool's type and the anchor type need it)."""


def _check_gpus(cfg: Config) -> None:
    """Every pool's GPU type is in the ``gpus`` table; notebook and academic pools need a type with a Colab
    compute-unit rate or an Alliance RGU value, and so does the anchor type their priors are counted in."""
    for name, strategy in cfg.strategies.items():
        for pool_name, pool in strategy.pools.items():
            key, gpu = f"strategies.{name}.pools.{pool_name}.gpu", pool_gpu(pool)
            if gpu not in cfg.gpus:
                allowed = ", ".join(cfg.gpus) or "none: the gpus table is empty"
                raise ConfigError(f"{key} = {_fmt(gpu)}: unknown GPU type; the gpus table has {allowed}")
            needed = CONVERSIONS.get(pool.kind)
            if needed is None:
                continue
            if getattr(cfg.gpus.get(UNIT_ANCHOR_GPU), needed, None) is None:
                raise ConfigError(f"gpus.{UNIT_ANCHOR_GPU}.{needed}: missing; {pool.kind} pools convert their units "
                                  f"through the {UNIT_ANCHOR_GPU} row")
            if getattr(cfg.gpus[gpu], needed) is None:
                allowed = ", ".join(g for g, row in cfg.gpus.items() if getattr(row, needed) is not None)
                raise ConfigError(f"{key} = {_fmt(gpu)}: a {pool.kind} pool needs a GPU type with {needed} "
                                  f"(one of {allowed})")


def _check_capex(cfg: Config) -> None:
    """An owned fleet ordered at t=0 must be affordable within the strategy's capex budget at the median price.

    The engine caps every order at ``floor(budget / price)`` GPUs (:mod:`simulator.engine.processes.fleet`); a base that the
    budget cannot buy at the median hardware price (times the pool's GPU type's ``purchase_price_ratio``) would
    silently be a smaller fleet on most paths.
    """
    h100_price = prior_median(cfg.priors.market.hardware_usd_per_gpu)
    for name, strategy in cfg.strategies.items():
        budget = strategy.capex_budget_usd
        if budget is None:
            continue
        for pool_name, pool in strategy.pools.items():
            price = h100_price * cfg.gpus[pool_gpu(pool)].purchase_price_ratio
            if pool.kind == "owned" and pool.gpus * price > budget:
                raise ConfigError(
                    f"strategies.{name}.pools.{pool_name}.gpus = {pool.gpus}: costs {_usd(pool.gpus * price)} at "
                    f"the median hardware price ({_usd(price)} per GPU), more than "
                    f"strategies.{name}.capex_budget_usd = {_usd(budget)}"
                )


def _check_reserved(cfg: Config) -> None:
    """The reserved-only pool knobs: set only on ``reserved`` pools; a commitment starts within the horizon, exits
    after it starts and (without renewal) before its term ends; a capacity block neither exits nor renews."""
    defaults = PoolConfig()
    for name, strategy in cfg.strategies.items():
        for pool_name, pool in strategy.pools.items():
            key = f"strategies.{name}.pools.{pool_name}"
            if pool.kind != "reserved":
                for knob in RESERVED_KNOBS:
                    if getattr(pool, knob) != getattr(defaults, knob):
                        raise ConfigError(f"{key}.{knob} = {_fmt(getattr(pool, knob))}: only reserved pools take "
                                          f"{knob} (this pool is {pool.kind!r})")
                continue
            start, term, exit_month = pool.start_month, pool.term_months, pool.exit_month
            if start >= cfg.engine.horizon_months:
                raise ConfigError(f"{key}.start_month = {start}: must be < the horizon "
                                  f"({cfg.engine.horizon_months} months)")
            if pool.block and (exit_month is not None or pool.renew):
                knob = "exit_month" if exit_month is not None else "renew"
                raise ConfigError(f"{key}.{knob} = {_fmt(getattr(pool, knob))}: a capacity block (block: true) is "
                                  "non-cancellable and does not renew; remove it")
            if exit_month is not None and exit_month <= start:
                raise ConfigError(f"{key}.exit_month = {exit_month}: must be > start_month ({start})")
            if exit_month is not None and not pool.renew and exit_month >= start + term:
                raise ConfigError(f"{key}.exit_month = {exit_month}: must be < start_month + term_months "
                                  f"({start + term}) without renew; the term ends there anyway")


def _check_procurement(cfg: Config) -> None:
    """Procurement policies: whole non-negative schedule months (within the horizon) and GPUs in lists of equal
    length; a policy needs an owned pool (``gpus: 0`` for a fleet bought from zero); a leased fleet is returned, not
    sold."""
    for name, strategy in cfg.strategies.items():
        pro, key = strategy.procurement, f"strategies.{name}.procurement"
        months, gpus = list(pro.schedule.order_months), list(pro.schedule.order_gpus)
        for field_name, values in (("order_months", months), ("order_gpus", gpus)):
            for i, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ConfigError(f"{key}.schedule.{field_name}[{i}] = {_fmt(v)}: must be a whole number >= 0")
        if len(months) != len(gpus):
            raise ConfigError(f"{key}.schedule.order_gpus has {len(gpus)} entries: must have as many as "
                              f"order_months ({len(months)})")
        for i, v in enumerate(months):
            if v >= cfg.engine.horizon_months:
                raise ConfigError(f"{key}.schedule.order_months[{i}] = {v}: must be < the horizon "
                                  f"({cfg.engine.horizon_months} months)")
        if pro.sell_month is not None and pro.sell_month >= cfg.engine.horizon_months:
            raise ConfigError(f"{key}.sell_month = {pro.sell_month}: must be < the horizon "
                              f"({cfg.engine.horizon_months} months)")
        sells = pro.sell_month is not None or pro.sell_below_utilisation > 0.0
        if pro.financing == "lease" and sells:
            knob = "sell_month" if pro.sell_month is not None else "sell_below_utilisation"
            raise ConfigError(f"{key}.{knob} = {_fmt(getattr(pro, knob))}: a leased fleet (financing: lease) is "
                              "returned at the term's end, not sold")
        policy = [k for k, on in (("schedule", bool(months)), ("base_stock.coverage", pro.base_stock.coverage > 0.0),
                                  ("financing", pro.financing != "buy"), ("sell", sells)) if on]
        if policy and not any(p.kind == "owned" for p in strategy.pools.values()):
            raise ConfigError(f"{key}.{policy[0]}: a procurement policy needs an owned pool (kind: owned, gpus: 0 "
                              "for a fleet bought from zero)")
