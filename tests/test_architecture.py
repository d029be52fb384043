"""The package's shape: layers (import-linter's contract in ``pyproject.toml``), no import cycles, no stray modules at
the top of ``simulator/`` and no function longer than :data:`MAX_FUNCTION_LINES`.

The layers, top to bottom: ``app -> sweeps -> report -> decision -> results -> engine -> config -> stats``; a module
may import from its own layer and from any layer below it, never from one above.
"""

from __future__ import annotations

import ast
import copy
import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter.configuration import configure
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

configure()  # import-linter's settings (timer, graph builder), as lint-imports sets them
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulator"
MAX_FUNCTION_LINES = 80
# Functions still longer than MAX_FUNCTION_LINES, each with the work that splits it; the list only shrinks.
KNOWN_LONG: set[tuple[str, str]] = set()


def _contracts() -> list[dict]:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert options["root_package"] == "simulator"
    return options["contracts"]


def _contract(contract: dict) -> LayersContract | ForbiddenContract:
    """A contract exactly as ``lint-imports`` reads it from ``pyproject.toml``."""
    kind = {"layers": LayersContract, "forbidden": ForbiddenContract}[contract["type"]]
    options = {key: str(value) if isinstance(value, bool) else value
               for key, value in contract.items() if key not in ("name", "type")}
    return kind(contract["name"], {"root_packages": ["simulator"]}, options)



@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("simulator", cache_dir=None)


@pytest.fixture(scope="module")
def layers() -> dict:
    (contract,) = [c for c in _contracts() if c["type"] == "layers"]
    return contract


def test_layers_are_the_documented_stack(layers):
    assert layers["containers"] == ["simulator"]
    assert layers["layers"] == ["app", "sweeps", "report", "decision", "results", "engine", "config", "stats"]
    on_disk = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert on_disk == set(layers["layers"]), "every subpackage is a layer of the contract, and only those"


def test_imports_point_down_the_stack(graph, layers):
    """``lint-imports`` passes: no module imports from a layer above its own."""
    check = _contract(layers).check(graph, verbose=False)
    broken = [
        f"{link['importer']} -> {link['imported']} (l.{', '.join(map(str, link['line_numbers']))})"
        for dependency in check.metadata.get("invalid_dependencies", [])
        for route in dependency["routes"]
        for link in route["chain"]
    ]
    assert check.kept, "imports up the stack: " + "; ".join(broken)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("simulator.config.schema", "simulator.app.run"),
        ("simulator.engine.host", "simulator.results.dataset"),  # e.g. the engine reading the variables table
        ("simulator.decision.analyse", "simulator.report.markdown"),
        ("simulator.stats.estimators", "simulator.config.errors"),  # stats is the floor: NumPy only
    ],
)
def test_an_upward_import_breaks_the_contract(graph, layers, importer, imported):
    """The contract is not vacuous: adding one upward import to the real graph breaks it."""
    upward = copy.deepcopy(graph)
    upward.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    assert not _contract(layers).check(upward, verbose=False).kept


@pytest.mark.parametrize("contract", [c for c in _contracts() if c["type"] == "forbidden"], ids=lambda c: c["name"])
def test_forbidden_imports(graph, contract):
    """E.g. the analysis never imports the engine's runner: a re-run is a function that app/ passes in."""
    check = _contract(contract).check(graph, verbose=False)
    assert check.kept, check.metadata


def test_the_analysis_importing_the_engine_runner_breaks_the_contract(graph):
    (contract,) = [c for c in _contracts() if c["type"] == "forbidden"]
    direct = copy.deepcopy(graph)
    direct.add_import(importer="simulator.decision.sensitivity", imported="simulator.engine.host", line_number=1,
                      line_contents="from simulator.engine.host import run_paths")
    assert not _contract(contract).check(direct, verbose=False).kept


def test_no_import_cycles(graph):
    """No module imports, directly or through others, a module that imports it (e.g. ``devices`` <-> ``host``)."""
    cycles = [
        f"{module} -> {imported} -> ... -> {module}"
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if graph.find_shortest_chain(importer=imported, imported=module)
    ]
    assert not cycles, "import cycles: " + "; ".join(cycles)


def _is_entry_point(path) -> bool:
    """A ``python -m simulator.NAME`` module: short, and it only imports from ``simulator.app`` (or ``__future__``)."""
    tree = ast.parse(path.read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    return len(path.read_text().splitlines()) <= 20 and all(
        isinstance(n, ast.ImportFrom) and (n.module == "__future__" or n.module.startswith("simulator.app."))
        for n in imports)


def test_only_entry_points_sit_at_the_top_of_the_package():
    stray = sorted(p.name for p in PACKAGE.glob("*.py")
                   if p.name not in ("__init__.py", "__main__.py") and not _is_entry_point(p))
    assert not stray, f"modules directly in simulator/ (move them into a layer): {stray}"


def _long_functions() -> set[tuple[str, str, int]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.add((path.relative_to(ROOT).as_posix(), node.name, length))
    return found


def test_no_function_is_longer_than_the_limit():
    """Decorators excluded, docstring included: a function that needs more than 80 lines does several jobs."""
    new = sorted(f"{path}:{name} ({length} lines)" for path, name, length in _long_functions()
                 if (path, name) not in KNOWN_LONG)
    assert not new, f"functions longer than {MAX_FUNCTION_LINES} lines: {new}"
