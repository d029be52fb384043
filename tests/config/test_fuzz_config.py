"""Fuzzed bad configuration: every invalid input ends as one line naming the key; nothing runs, nothing is written.

Hypothesis generates invalid inputs from the schema itself (every scalar, list and prior of the typed config of the
``hybrid`` scenario): unknown keys (``_target_`` among them), wrong types, NaN and infinities, out-of-range values,
invalid priors, inconsistent settings (a deadline before its run's start, a run starting after the horizon, an owned
base the capex budget cannot buy at the median hardware price, two pools of one kind, a step longer than a month or
shorter than an hour, summary quantiles without P5/P50/P95) and malformed scenario files. ``FUZZ_CASES`` counts the
cases; the last test checks that a full run of this module fuzzed at least 500.

Most cases run in-process. Value overrides go through :func:`apply_overrides`: Hydra's own override parser and
``ConfigLoaderImpl._apply_overrides_to_config`` (what ``compose`` does after merging the defaults) on a copy of the
composed ``hybrid`` config, then :func:`simulator.__main__.to_validated`, 4x faster than a full compose;
``test_fast_path_agrees_with_load_config`` checks on fuzzed cases that it gives exactly the line that
:func:`simulator.__main__.load_config` gives. Group choices and scenario files go through ``load_config`` itself.
``test_cli_rejects_bad_input`` runs a sample through ``python -m simulator`` in subprocesses: exit code 2, one line
on stderr naming the key, no traceback, no ``outputs/``.

Malformed scenario files are written to a temporary folder added to Hydra's search path with the override
``hydra.searchpath=[file://DIR]``: ``scenario=NAME`` then finds ``DIR/scenario/NAME.yaml``, so the repository's
``scenarios/`` folder is never touched (a user can keep private scenarios outside the repository the same way).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import math
import os
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.config.errors import error_line
from simulator.config.load import load_config, to_validated
from simulator.config.overrides import check_overrides
from simulator.config.schema import Config, PriorSpec
from simulator.config.validate import PRIOR_PARAMETERS, SUMMARY_QUANTILES

FUZZ_CASES: collections.Counter[str] = collections.Counter()
EXAMPLES = {  # hypothesis examples per test: 520 in all, plus the command-line cases
    "scalar": 170,
    "prior": 140,
    "unknown_key": 70,
    "inconsistent": 60,
    "scenario_file": 35,
    "fast_path": 15,
    "group_choice": 30,
}
FUZZ = dict(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
BASE = ["scenario=hybrid"]


# --- the schema, walked once --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Leaf:
    key: str
    kind: str  # int, float, optional_float, optional_int, paths, bool, str, choice, str_list, float_list, int_list
    limits: dict


def _kind(hint: typing.Any, limits: dict) -> str:
    if hint is typing.Any:
        return "paths"
    if hint is bool:
        return "bool"
    if hint is int:
        return "int"
    if hint is float:
        return "float"
    if isinstance(hint, types.UnionType) and float in typing.get_args(hint):
        return "optional_float"
    if isinstance(hint, types.UnionType) and int in typing.get_args(hint):
        return "optional_int"
    if hint is str or (isinstance(hint, types.UnionType) and str in typing.get_args(hint)):  # str | None: a name
        return "choice" if "choices" in limits else "str"
    if typing.get_origin(hint) is list:
        if typing.get_args(hint) == (str,):  # a list of names checked against another table (a provider's gpus): str
            return "str_list" if "subset_of" in limits else "str"
        return "int_list" if typing.get_args(hint) == (int,) else "float_list"
    raise AssertionError(f"schema type not covered by the fuzzer: {hint}")


def walk_schema(obj: typing.Any, prefix: str, leaves: list, priors: list, nodes: list) -> None:
    nodes.append((prefix.rstrip("."), type(obj)))
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        key, value, limits = f"{prefix}{f.name}", getattr(obj, f.name), dict(f.metadata)
        if isinstance(value, PriorSpec):
            priors.append((key, limits))
            nodes.append((key, PriorSpec))
        elif dataclasses.is_dataclass(value):
            walk_schema(value, f"{key}.", leaves, priors, nodes)
        elif isinstance(value, dict):
            for name, child in value.items():
                walk_schema(child, f"{key}.{name}.", leaves, priors, nodes)
        else:
            leaves.append(Leaf(key, _kind(hints[f.name], limits), limits))


BASE_CONFIG = load_config(BASE)
LEAVES: list[Leaf] = []
PRIORS: list[tuple[str, dict]] = []
NODES: list[tuple[str, type]] = []
walk_schema(BASE_CONFIG, "", LEAVES, PRIORS, NODES)
FIELD_NAMES = {
    key: {f.name for f in dataclasses.fields(cls)} for key, cls in NODES
}  # dataclass nodes and their allowed keys


# --- how a case is checked ----------------------------------------------------------------------------------------


def _composed_base():
    from hydra import compose, initialize_config_dir

    from simulator.config.load import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=BASE)


COMPOSED = _composed_base()


def apply_overrides(overrides: list[str]) -> Config:
    """``load_config(BASE + overrides)`` for value overrides, without recomposing the defaults (module docstring)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser

    check_overrides(overrides)
    cfg = copy.deepcopy(COMPOSED)
    parsed = OverridesParser.create().parse_overrides(overrides)
    ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)
    return to_validated(cfg)


def rejected(load, overrides: list[str], key: str, category: str) -> str:
    """Assert that ``load(overrides)`` fails with one line naming ``key``; return the line."""
    FUZZ_CASES[category] += 1
    try:
        load(overrides)
    except Exception as exc:  # any failure is phrased by error_line
        line = error_line(exc)
    else:
        raise AssertionError(f"accepted an invalid configuration: {overrides}")
    assert "\n" not in line and line.startswith("config error: "), line
    assert key in line, (key, line, overrides)
    assert "Traceback" not in line
    return line


# --- generators ---------------------------------------------------------------------------------------------------

identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
steps = st.sampled_from([1e-9, 1e-3, 0.5, 1.0, 7.0, 1e3, 1e12])
non_finite = st.sampled_from(["nan", "inf", "-inf"])
not_numbers = st.sampled_from(["abc", "'1 2'", "[1,2]", "{a:1}", "true", "false", "''"])


def num(x: float) -> str:
    """A float as Hydra's override grammar reads it."""
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf") if math.isinf(x) else repr(float(x))


@st.composite
def out_of_range(draw, limits: dict, integer: bool) -> str:
    """A number violating one of ``limits`` (``ge``/``gt``/``le``/``lt``)."""
    name = draw(st.sampled_from(sorted(k for k in ("ge", "gt", "le", "lt") if k in limits)))
    bound = limits[name]
    if integer:
        delta = draw(st.integers(1, 10**6))
        value = {"ge": bound - delta, "gt": bound - delta + 1, "le": bound + delta, "lt": bound + delta - 1}[
            name
        ]
        return str(int(value))
    delta = draw(steps) * max(1.0, abs(bound))
    value = {
        "ge": bound - delta,
        "gt": bound - draw(st.sampled_from([0.0, delta])),
        "le": bound + delta,
        "lt": bound + draw(st.sampled_from([0.0, delta])),
    }[name]
    return num(value)


@st.composite
def bad_scalar(draw) -> tuple[list[str], str]:
    """One scalar or list setting with a value of the wrong type, non-finite or out of range."""
    leaf = draw(st.sampled_from([leaf for leaf in LEAVES if leaf.kind != "str"]))
    bounds = [k for k in ("ge", "gt", "le", "lt") if k in leaf.limits]
    options = []
    integer = leaf.kind in ("int", "optional_int", "paths")
    if leaf.kind in ("int", "float", "optional_float", "optional_int", "paths"):
        options += [non_finite, not_numbers]
        if bounds:
            options.append(out_of_range(leaf.limits, integer=integer))
        if integer:
            options.append(st.sampled_from(["1.5", "-0.5", "2.25"]))
    elif leaf.kind == "bool":
        options.append(st.sampled_from(["maybe", "abc", "[1]", "{a:1}", "1.5", "nan", "''"]))
    elif leaf.kind == "choice":
        options.append(
            identifiers.filter(
                lambda v: v not in leaf.limits["choices"] and v not in ("null", "true", "false", "nan", "inf")
            )
        )
        options.append(st.sampled_from(["[a]", "{a:1}", "3"]))
    elif leaf.kind == "str_list":
        allowed = leaf.limits["subset_of"]
        options.append(
            identifiers.filter(
                lambda v: v not in allowed and v not in ("null", "true", "false", "nan", "inf")
            ).map(lambda v: f"[{v}]")
        )
        options.append(st.sampled_from(["light", "abc", "3", "{a:1}"]))
    elif leaf.kind == "float_list":
        options.append(
            st.sampled_from(
                [
                    "[1.5]",
                    "[nan]",
                    "[-0.1]",
                    "[0.05,0.5,inf]",
                    "[0.05,0.5,0.95,abc]",
                    "abc",
                    "[0.1]",
                    "[]",
                    "[0.05,0.05,0.5,0.95]",
                    "{a:1}",
                ]
            )
        )
    elif leaf.kind == "int_list":  # whole numbers >= 0 (a procurement schedule); [] is valid
        options.append(st.sampled_from(["[1.5]", "[-1]", "[nan]", "[2,-3]", "abc", "{a:1}"]))
    options.append(
        st.sampled_from(["[1,", "{a:", "{a:1", "'open", "(", "a b", "[1]]", "$x{"])
    )  # not parsable
    value = draw(st.one_of(options))
    return [f"{leaf.key}={value}"], leaf.key


def _valid_param(name: str) -> float:
    return {"value": 1.0, "low": 1.0, "high": 2.0, "mean": 0.5, "sd": 0.1, "median": 1.0, "p90": 2.0}[name]


@st.composite
def bad_prior(draw) -> tuple[list[str], str]:
    """A prior with an invalid distribution, parameter, or support outside its parameter's domain."""
    key, domain = draw(st.sampled_from(PRIORS))
    low = max(domain.get("ge", -math.inf), domain.get("gt", -math.inf))
    high = min(domain.get("le", math.inf), domain.get("lt", math.inf))
    x = draw(st.floats(-1e6, 1e6, allow_nan=False))
    d = draw(steps)
    specs = [
        f"{{dist:{draw(identifiers.filter(lambda v: v not in PRIOR_PARAMETERS and v not in ('null', 'nan', 'inf', 'true', 'false')))},value:1.0}}",
        f"{{dist:uniform,low:{num(x)},high:{num(x - d * max(1, abs(x)) * draw(st.sampled_from([0, 1])))}}}",
        f"{{dist:normal,mean:{num(x)},sd:{num(-d)}}}",
        f"{{dist:lognormal,median:{num(-d * draw(st.sampled_from([0, 1])))},p90:1.0}}",
        f"{{dist:lognormal,median:{num(d + 1.0)},p90:{num(d * 0.5)}}}",
        f"{{dist:beta,mean:{draw(st.sampled_from(['0.0', '1.0', '1.5', '-0.2']))},sd:0.1}}",
        f"{{dist:beta,mean:0.5,sd:{draw(st.sampled_from(['0.5', '0.0', '-0.1', '10.0']))}}}",
        f"{{dist:{draw(st.sampled_from(list(PRIOR_PARAMETERS)))},{draw(non_finite.map(lambda v: f'value:{v},low:{v},high:{v},mean:{v},sd:{v},median:{v},p90:{v}'))}}}",
        "{dist:uniform,low:1.0,high:null}",  # a dict override merges into the spec: unset a parameter explicitly
        "{dist:lognormal,median:null,p90:2.0}",
        f"{{dist:fixed,value:1.0,{draw(identifiers.filter(lambda v: v not in FIELD_NAMES[key]))}:1}}",
        f"{{dist:fixed,value:{draw(not_numbers)}}}",
        draw(st.sampled_from(["0.5", "abc", "[1,2]", "null"])),
        f"{{dist:fixed,value:{draw(st.sampled_from(['1e39', '-1e39', '1e300']))}}}",
    ]
    if low > -math.inf:  # support below the domain
        specs += [
            f"{{dist:fixed,value:{num(low - d * max(1, abs(low)))}}}",
            f"{{dist:uniform,low:{num(low - d * max(1, abs(low)))},high:{num(low + 1)}}}",
            f"{{dist:normal,mean:{num(low + 1)},sd:{num(1.0 + d)}}}",
        ]
    if high < math.inf:  # support above the domain
        specs += [
            f"{{dist:fixed,value:{num(high + d * max(1, abs(high)))}}}",
            f"{{dist:lognormal,median:{num(min(0.5, high / 2) or 0.5)},p90:{num(high)}}}",
        ]
    if low >= 1.0:  # beta draws lie in (0, 1)
        specs.append("{dist:beta,mean:0.5,sd:0.1}")
    spec = draw(st.sampled_from(specs))
    if spec.startswith("{dist:fixed,value:") and spec.count(",") == 1 and draw(st.booleans()):
        return [
            f"{key}.dist=fixed",
            f"{key}.value={spec[len('{dist:fixed,value:') : -1]}",
        ], key  # field by field
    return [f"{key}={spec}"], key


@st.composite
def unknown_key(draw) -> tuple[list[str], str]:
    """A key the schema does not have, at any level; ``_target_`` and friends included."""
    node, cls = draw(st.sampled_from(NODES))
    allowed = FIELD_NAMES[node]
    name = draw(
        st.one_of(
            st.sampled_from(["_target_", "_recursive_", "_convert_", "_args_"]),
            identifiers.filter(lambda v: v not in allowed),
        )
    )
    if not node and name in ("scenario", "engine", "priors", "report", "decision", "strategy", "hydra"):
        name += "_x"
    key = f"{node}.{name}" if node else name
    value = draw(st.sampled_from(["1", "os.system", "abc", "[1,2]", "{a:1}", "null", "'rm -rf /'"]))
    prefix = draw(st.sampled_from(["+", "", "++"]))
    return [f"{prefix}{key}={value}"], key


@st.composite
def inconsistent(draw) -> tuple[list[str], str]:
    """Values valid one by one that contradict each other."""
    cfg = BASE_CONFIG
    run_name, run = next(iter(cfg.runs.items()))
    case = draw(
        st.sampled_from(
            [
                "deadline",
                "start_after_horizon",
                "capex",
                "capex_price",
                "two_owned",
                "step_long",
                "step_short",
                "quantiles",
            ]
        )
    )
    if case == "deadline":
        start = draw(st.floats(1.0, 1000.0))
        deadline = start - draw(st.sampled_from([0.0, 1e-6, 1.0, start / 2, start - 0.5]))
        return [
            f"runs.{run_name}.start_day={num(start)}",
            f"runs.{run_name}.deadline_day={num(deadline)}",
        ], f"runs.{run_name}.deadline_day"
    if case == "start_after_horizon":
        months = draw(st.integers(1, 24))
        start = months * 365.25 / 12.0 + draw(st.sampled_from([0.0, 1.0, 100.0]))
        return [
            f"engine.horizon_months={months}",
            f"runs.{run_name}.start_day={num(start)}",
            f"runs.{run_name}.deadline_day={num(start + 10)}",
        ], f"runs.{run_name}.start_day"
    owned = [
        (s, p, pool.gpus)
        for s, strategy in cfg.strategies.items()
        for p, pool in strategy.pools.items()
        if pool.kind == "owned" and pool.gpus > 0
    ]
    strategy, pool, gpus = draw(st.sampled_from(owned))
    if case == "two_owned":
        strategy, pool, _ = draw(st.sampled_from([o for o in owned if len(cfg.strategies[o[0]].pools) > 1]))
        other = draw(st.sampled_from([p for p in cfg.strategies[strategy].pools if p != pool]))
        return [f"strategies.{strategy}.pools.{other}.kind=owned"], f"strategies.{strategy}.pools"
    if case == "capex":
        budget = gpus * 30000.0 * draw(st.floats(0.0, 0.99))
        return [
            f"strategies.{strategy}.capex_budget_usd={num(budget)}",
            "priors.market.hardware_usd_per_gpu={dist:fixed,value:30000.0}",
        ], f"strategies.{strategy}.pools.{pool}.gpus"
    if case == "capex_price":  # the budget fits the default price, not the median of a dearer prior
        median = draw(st.floats(40000.0, 1e6))
        return [
            f"strategies.{strategy}.capex_budget_usd={num(gpus * 35000.0)}",
            f"priors.market.hardware_usd_per_gpu={{dist:lognormal,median:{num(median)},p90:{num(2 * median)}}}",
        ], f"strategies.{strategy}.pools.{pool}.gpus"
    if case == "step_long":
        return [f"engine.step_days={num(draw(st.floats(30.44, 31.0)))}"], "engine.step_days"
    if case == "step_short":
        return [f"engine.step_days={num(draw(st.floats(1e-300, 0.0416)))}"], "engine.step_days"
    kept = draw(
        st.lists(st.sampled_from([0.1, 0.25, 0.75, 0.9, *SUMMARY_QUANTILES]), max_size=4, unique=True)
    )
    drop = draw(st.sampled_from(SUMMARY_QUANTILES))
    kept = [q for q in kept if q != drop] or [0.25]
    return [f"report.quantiles=[{','.join(num(q) for q in kept)}]"], "report.quantiles"


def invalid_values():
    return st.one_of(bad_scalar(), bad_prior(), unknown_key(), inconsistent())


# --- malformed scenario files -------------------------------------------------------------------------------------

VALID_SCENARIO = (Path(__file__).parents[2] / "scenarios" / "hybrid.yaml").read_text()


@st.composite
def bad_scenario(draw, marker: Path) -> tuple[str, str]:
    """Text of a malformed scenario file and what its error line must name (``FILE`` stands for the file name)."""
    lines = VALID_SCENARIO.splitlines()
    at = draw(st.integers(1, len(lines)))
    broken_value = draw(
        st.sampled_from(
            [
                ("engine: {paths: -5}", "engine.paths"),
                ("engine: {paths: .nan}", "engine.paths"),
                ("engine: {discount_rate_per_year: .inf}", "engine.discount_rate_per_year"),
                ("engine: {seed: abc}", "engine.seed"),
                ("engine: {pathz: 3}", "engine.pathz"),
                ("_target_: os.system", "_target_"),
                ("report: {quantiles: [0.5]}", "report.quantiles"),
                (
                    "providers: {hyperscaler: {spot_discount: {dist: fixed, value: 1.5}}}",
                    "providers.hyperscaler.spot_discount",
                ),
                ("providers: {hyperscaler: {spot_discount: 0.5}}", "providers.hyperscaler.spot_discount"),
                (
                    "strategies: {hybrid: {pools: {base: {kind: rental}}}}",
                    "strategies.hybrid.pools.base.kind",
                ),
                ("strategies: {hybrid: {capex_budget_usd: 1000.0}}", "strategies.hybrid.pools.base.gpus"),
                ("deadline_day: 180", "deadline_day: 10", "runs.foundation_v1.deadline_day"),
                ("description: Rent", "description: ${nosuch.key} Rent", "description"),
                ("gpus: 32", "gpus: -32", "runs.foundation_v1.gpus"),
                ("start_day: 90", "start_day: .nan", "runs.foundation_v1.start_day"),
                ("median: 40000.0", "median: -1.0", "runs.foundation_v1.gpu_hours"),
            ]
        )
    )
    case = draw(
        st.sampled_from(
            [
                "value",
                "syntax",
                "tab",
                "duplicate",
                "python_tag",
                "not_mapping",
                "no_package",
                "missing_strategy",
                "binary",
                "bad_name_in_defaults",
            ]
        )
    )
    if case == "value" and len(broken_value) == 3:  # edit a value of the file
        old, new, key = broken_value
        assert old in VALID_SCENARIO, old
        return VALID_SCENARIO.replace(old, new, 1), key
    if case == "value":  # add a top-level key the file does not have
        return VALID_SCENARIO + "\n" + broken_value[0] + "\n", broken_value[1]
    if case == "syntax":
        junk = draw(
            st.sampled_from(
                [
                    "key: {a: 1",
                    "key: [1, 2",
                    "key: 'open",
                    'key: "open',
                    "- x\nkey: 1",
                    "key: value: other",
                    "? [a\n",
                ]
            )
        )
        return "\n".join(lines[:at] + [junk] + lines[at:]) + "\n", "FILE"
    if case == "tab":
        return "# @package _global_\nengine:\n\tpaths: 3\n", "FILE"
    if case == "duplicate":
        return VALID_SCENARIO + "\nscenario: again\n", "FILE"
    if case == "python_tag":
        tag = draw(
            st.sampled_from(
                [
                    f'!!python/object/apply:os.system ["touch {marker}"]',
                    f"!!python/object/apply:pathlib.Path.touch [{marker}]",
                    "!!python/name:os.system",
                    "!!python/object/new:builtins.dict {}",
                    "!!python/module:os",
                ]
            )
        )
        return VALID_SCENARIO + f"\nnotes: {tag}\n", "FILE"
    if case == "not_mapping":
        return draw(
            st.sampled_from(["- a\n- b\n", "hello\n", "", "# @package _global_\n- a\n", "42\n"])
        ), "scenario"
    if case == "no_package":
        return VALID_SCENARIO.replace("# @package _global_\n", ""), "scenario"
    if case == "missing_strategy":
        return VALID_SCENARIO.replace(
            "strategy@strategies.spot: spot", "strategy@strategies.spot: nosuch"
        ), "strategy=nosuch"
    if case == "bad_name_in_defaults":
        return VALID_SCENARIO.replace(
            "strategy@strategies.spot: spot", "strategy@strategies.spot: ../../x"
        ), "strategy"
    return "\x00\x01binary", "FILE"


# --- the fuzz tests -----------------------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES["scalar"], **FUZZ)
@given(bad_scalar())
def test_bad_scalar_is_one_line_naming_the_key(case):
    overrides, key = case
    rejected(apply_overrides, overrides, key, "scalar")


@settings(max_examples=EXAMPLES["prior"], **FUZZ)
@given(bad_prior())
def test_bad_prior_is_one_line_naming_the_key(case):
    overrides, key = case
    rejected(apply_overrides, overrides, key, "prior")


@settings(max_examples=EXAMPLES["unknown_key"], **FUZZ)
@given(unknown_key())
def test_unknown_key_is_one_line_naming_the_key(case):
    overrides, key = case
    line = rejected(apply_overrides, overrides, key, "unknown_key")
    assert "unknown key" in line or "not in" in line or "Could not" in line or "not a subclass" in line, line


@settings(max_examples=EXAMPLES["inconsistent"], **FUZZ)
@given(inconsistent())
def test_inconsistent_settings_are_one_line_naming_the_key(case):
    overrides, key = case
    rejected(apply_overrides, overrides, key, "inconsistent")


@settings(max_examples=EXAMPLES["fast_path"], **FUZZ)
@given(invalid_values())
def test_fast_path_agrees_with_load_config(case):
    overrides, key = case
    full = rejected(lambda o: load_config(BASE + o), overrides, key, "fast_path")
    with pytest.raises(Exception) as info:
        apply_overrides(overrides)
    assert error_line(info.value) == full


@settings(max_examples=EXAMPLES["group_choice"], **FUZZ)
@given(
    st.sampled_from(["scenario", "engine", "priors", "report", "decision", "+strategy@strategies.extra"]),
    st.one_of(
        st.sampled_from(
            [
                "../../x",
                "../conf/config",
                "/etc/passwd",
                "a/b",
                "null",
                ".hidden",
                "x.y",
                "..",
                "~root",
                "a b",
            ]
        ),
        identifiers.map(lambda v: f"nosuch_{v}"),
    ),
)
def test_bad_group_choice_is_one_line(group, name):
    value = f"'{name}'" if " " in name else name
    key = group.lstrip("+").split("@")[0]
    line = rejected(load_config, [f"{group}={value}"], key, "group_choice")
    assert "no such file" in line or "may use letters" in line or "not a valid override" in line, line


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenarios")
    (root / "scenario").mkdir()
    return root


@settings(max_examples=EXAMPLES["scenario_file"], **FUZZ)
@given(data=st.data())
def test_malformed_scenario_file_is_one_line(scenario_dir, data):
    marker = scenario_dir / "executed"
    text, key = data.draw(bad_scenario(marker))
    name = f"fuzz_{FUZZ_CASES['scenario_file']}"
    path = scenario_dir / "scenario" / f"{name}.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    try:
        line = rejected(
            load_config,
            [f"hydra.searchpath=[file://{scenario_dir}]", f"scenario={name}"],
            f"{name}.yaml" if key == "FILE" else key,
            "scenario_file",
        )
    finally:
        path.unlink()
    assert not marker.exists(), "a YAML tag ran code"
    assert "Traceback" not in line


# --- the command line, in subprocesses ----------------------------------------------------------------------------

CLI_CASES = [  # (overrides, key): one of each family, run through `python -m simulator`
    (["engine.paths=-1"], "engine.paths"),
    (["engine.step_days=nan"], "engine.step_days"),
    (["engine.seed=abc"], "engine.seed"),
    (["engine.pathz=10"], "engine.pathz"),
    (["+_target_=os.system"], "_target_"),
    (["_target_=os.system"], "_target_"),
    (["providers.hyperscaler.spot_discount={dist:lognormal,median:0.5,p90:0.7}"], "providers.hyperscaler.spot_discount"),
    (["runs.foundation_v1.deadline_day=10"], "runs.foundation_v1.deadline_day"),
    (["strategies.hybrid.capex_budget_usd=1000"], "strategies.hybrid.pools.base.gpus"),
    (["report.quantiles=[0.5,1.5]"], "report.quantiles"),
    (["scenario=../../x"], "scenario=../../x"),
    (["engine=null"], "engine=null"),
    (["SCENARIO_DIR", "scenario=cli_syntax"], "cli_syntax.yaml"),
    (["SCENARIO_DIR", "scenario=cli_tag"], "cli_tag.yaml"),
]


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    """Every CLI case at once (each process only composes and validates: about a second of CPU)."""
    folder = tmp_path_factory.mktemp("cli_scenarios")
    (folder / "scenario").mkdir()
    (folder / "scenario" / "cli_syntax.yaml").write_text(VALID_SCENARIO + "\nengine: {paths: [1, 2\n")
    (folder / "scenario" / "cli_tag.yaml").write_text(
        VALID_SCENARIO + f'\ndescription: !!python/object/apply:os.system ["touch {folder / "executed"}"]\n'
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    running = []
    for i, (overrides, key) in enumerate(CLI_CASES):
        args = [f"hydra.searchpath=[file://{folder}]" if o == "SCENARIO_DIR" else o for o in overrides]
        cwd = tmp_path_factory.mktemp(f"cli_case_{i}")
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator", *args],
            cwd=cwd,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        running.append((process, cwd, key))
    results = []
    for process, cwd, key in running:
        stdout, stderr = process.communicate(timeout=120)
        results.append((process.returncode, stdout, stderr, cwd, key))
    assert not (folder / "executed").exists(), "a YAML tag ran code"
    return results


@pytest.mark.parametrize("index", range(len(CLI_CASES)))
def test_cli_rejects_bad_input(cli_results, index):
    returncode, stdout, stderr, cwd, key = cli_results[index]
    FUZZ_CASES["cli"] += 1
    assert returncode == 2, (returncode, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: ") and key in lines[0], stderr
    assert "Traceback" not in stdout + stderr
    assert not (cwd / "outputs").exists() and not list(cwd.iterdir())


def test_fuzzed_at_least_500_cases():
    """Runs last in this module: a full run of the module fuzzed >= 500 invalid configurations."""
    fuzzed = sum(FUZZ_CASES.values())
    if not {"scalar", "prior", "unknown_key", "inconsistent", "scenario_file", "fast_path", "cli"} <= set(
        FUZZ_CASES
    ):
        pytest.skip(f"only part of the module ran ({dict(FUZZ_CASES)})")
    print(f"fuzzed {fuzzed} invalid configurations: {dict(FUZZ_CASES)}")
    assert fuzzed >= 500, dict(FUZZ_CASES)
