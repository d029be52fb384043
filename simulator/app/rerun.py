"""Re-run a saved run exactly: ``python -m simulator rerun outputs/<scenario>/<timestamp> [key=value ...]``.

A run directory holds the whole configuration of its run after composition, every value resolved and the seed
included: ``config_resolved.yaml`` (written with the results; also the ``resolved_config`` attribute of
``results.nc``) or, for a run that was stopped before the end, ``.hydra/config.yaml``. The rerun types that
configuration with the schema and runs it as it is: the current ``conf/`` tree and scenario files are not read, so
later edits to them do not change it. With the same package versions on the same machine the results are
bit-identical (the engine's paths depend on the seed and the path index only). Extra overrides apply on top
(``engine.paths=100000``, ``engine.seed=1``); the new run writes ``outputs/<scenario>/<timestamp>/`` as usual.
``--resume`` instead continues a stopped streamed run from ``RUN_DIR/checkpoint.npz`` in ``RUN_DIR`` itself
(:mod:`simulator.app.checkpoint`).

The source may be a run directory, its ``results.nc`` or a resolved config file.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from simulator.config.errors import ConfigError, error_line
from simulator.config.load import CONF_DIR
from simulator.config.overrides import FILE_NAME, check_overrides

USAGE = ("usage: python -m simulator rerun RUN_DIR|results.nc|config.yaml [key=value ...]\n"
         "       python -m simulator rerun RUN_DIR --resume   (continue a streamed run from its checkpoint.npz)")
CONFIG_NAME = "rerun"


def saved_config(source: Path) -> str:
    """The resolved configuration (YAML text) saved with a run."""
    source = Path(source)
    if source.is_dir():
        for name in ("config_resolved.yaml", ".hydra/config.yaml"):
            if (source / name).is_file():
                return (source / name).read_text()
        raise ConfigError(f"{source}: no config_resolved.yaml or .hydra/config.yaml: not a run directory")
    if source.suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(source) as ds:
            if "resolved_config" not in ds.attrs:
                raise ConfigError(f"{source}: no resolved_config attribute: not a gpu-risk results file")
            return str(ds.attrs["resolved_config"])
    if source.is_file():
        return source.read_text()
    raise ConfigError(f"{source}: no such run directory or file")


def run_directories(folder: str) -> dict:
    """``conf/config.yaml``'s ``hydra.run`` and ``hydra.sweep`` directories with the scenario's name set to ``folder``.

    The pattern (``outputs/<scenario>/<time>``, ``outputs/multirun/<scenario>/<time>/<job>``) is written once, in
    ``conf/config.yaml``; a rerun has no scenario choice, so its saved scenario name takes the choice's place.
    """
    node = yaml.safe_load((CONF_DIR / "config.yaml").read_text())["hydra"]
    choices = ("${hydra:runtime.choices.scenario}", "${hydra.runtime.choices.scenario}")  # the sweeper has no hydra:

    def named(pattern: str) -> str:
        for choice in choices:
            pattern = pattern.replace(choice, folder)
        return pattern

    return {"run": {"dir": named(node["run"]["dir"])},
            "sweep": {"dir": named(node["sweep"]["dir"]), "subdir": node["sweep"]["subdir"]}}


def primary_config(text: str) -> str:
    """A Hydra primary config: the schema, then the saved values, run directory ``outputs/<scenario>/<time>``."""
    values = yaml.safe_load(text)
    if not isinstance(values, dict):
        raise ConfigError("the saved configuration is not a mapping of config keys")
    scenario = str(values.get("scenario") or "")
    folder = scenario if FILE_NAME.fullmatch(scenario) else "rerun"  # a saved name never leaves outputs/
    header = {"defaults": ["schema", "_self_"], "hydra": {**run_directories(folder), "job": {"chdir": False}}}
    return yaml.safe_dump(header, sort_keys=False) + text


def main(argv: list[str] | None = None) -> None:
    from hydra import compose, initialize_config_dir

    from simulator.app import run as entry
    from simulator.config.load import to_validated
    from simulator.config.safety import check_saved, check_targets

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        sys.exit(0 if argv else 2)
    if "--resume" in argv:  # continue the run in its own directory (simulator/app/checkpoint.py)
        from simulator.app.checkpoint import resume

        rest = [a for a in argv if a != "--resume"]
        if len(rest) != 1:
            print("error: --resume takes one RUN_DIR and no overrides (the run continues as it was configured)",
                  file=sys.stderr)
            sys.exit(2)
        return resume(Path(rest[0]))
    source, overrides = Path(argv[0]), argv[1:]
    folder = Path(tempfile.mkdtemp(prefix="gpu-risk-rerun-"))
    try:
        try:
            text = saved_config(source)
            check_saved(text, str(source))  # a saved config is only data: no hydra, defaults or _target_ keys
            (folder / f"{CONFIG_NAME}.yaml").write_text(primary_config(text))
            check_overrides(overrides)
            with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
                cfg = compose(CONFIG_NAME, overrides=overrides, return_hydra_config=True)
                check_targets(cfg)  # the saved config and the overrides name no code (simulator.config.safety)
                to_validated(cfg, warn=False)
        except Exception as exc:  # any failure to read or validate the saved config is a user error
            print(error_line(exc), file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted before the run started", file=sys.stderr)
            sys.exit(130)
        sys.argv = [sys.argv[0], "--config-dir", str(folder), "--config-name", CONFIG_NAME, *overrides]
        entry.main()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
