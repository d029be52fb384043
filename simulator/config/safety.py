"""A scenario file is only data: no config file that people share can make the simulator run code.

Hydra instantiates ``_target_`` nodes under ``hydra.callbacks``, ``hydra.launcher`` and ``hydra.sweeper``, and
hands ``hydra.job_logging`` / ``hydra.hydra_logging`` to :func:`logging.config.dictConfig`, which calls any
``()`` factory or handler ``class`` it names, all before the task function runs. Two rules, checked before Hydra
configures or instantiates anything (:func:`simulator.app.run._prevalidate`, :func:`simulator.config.load_config`):

1. :func:`check_sources`: a *data file* (any scenario file, and any config file from outside the project's own
   ``conf/``, e.g. one found through ``hydra.searchpath``) may set ``hydra.sweeper.params`` (its declared sweep, whose
   keys name config values, not config groups or ``hydra.*``) and nothing else under ``hydra``; its defaults list may
   not pick a ``hydra/`` group (a launcher, sweeper, callback or logging config); and it may hold no ``_target_`` or
   ``()`` key anywhere.
2. :func:`check_targets`: in the composed configuration (Hydra's node included), every ``_target_`` / ``()`` (and
   every logging ``class``) names a class of the allowlist :data:`ALLOWED`: Hydra's own and its plugins' launchers and
   sweepers, the project's own callbacks, the standard library's logging classes. Anything else (the command line
   included) is refused: nothing outside the allowlist is ever instantiated.

A refusal is a :class:`~simulator.config.errors.ConfigError` naming the file (rule 1) and the key: one line, exit 2.
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError
from .overrides import CONFIG_GROUPS

CODE_KEYS = ("_target_", "()")  # keys Hydra's instantiate and logging's dictConfig turn into calls
SWEEP_PARAMS = "hydra.sweeper.params"  # the only hydra key a data file may set
ALLOWED = {  # hydra section -> module roots its _target_ / () / class may name
    "hydra.callbacks": ("simulator",),
    "hydra.launcher": ("hydra", "hydra_plugins"),
    "hydra.sweeper": ("hydra", "hydra_plugins", "optuna"),  # optuna: the Optuna sweeper's sampler
    "hydra.job_logging": ("logging",),
    "hydra.hydra_logging": ("logging",),
}
TRUSTED_SOURCES = ("pkg://", "structured://")  # Hydra's and its plugins' packaged configs, the ConfigStore


def check_sources(overrides: list[str], conf_dir: Path, *, multirun: bool = False) -> None:
    """Apply rule 1 to every config file the composition with ``overrides`` reads (for ``multirun``, once per
    value of each config-group sweep, ``scenario=a,b`` or ``scenario=glob(*)``). Raises :class:`ConfigError`."""
    from hydra import initialize_config_dir
    from hydra._internal.defaults_list import (
        create_defaults_list,  # Hydra 1.3: the list `--info defaults` shows
    )
    from hydra.core.global_hydra import GlobalHydra

    key = (str(conf_dir), multirun, tuple(o for o in overrides if _picks_files(o)))
    if key in _CHECKED and all(_stat(f) == st for f, st in _CHECKED[key]):
        return  # the same files, unchanged since they passed (value overrides do not change which files are read)
    checked = []
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        for variant in _variants(loader, overrides, multirun):
            parsed, repo = loader._parse_overrides_and_create_caching_repo("config", variant)
            defaults = create_defaults_list(repo=repo, config_name="config", overrides_list=parsed,
                                            prepend_hydra=True, skip_missing=multirun)
            for path in dict.fromkeys(d.config_path for d in defaults.defaults if d.config_path):
                result = repo.load_config(path)
                if result is not None and _is_data(path, result.path, conf_dir):
                    package = next(d.package for d in defaults.defaults if d.config_path == path) or ""
                    shown = f"{result.path.removeprefix('file://')}/{path}.yaml"
                    _check_data_file(result, package, shown)
                    checked.append((shown, _stat(shown)))
    _CHECKED[key] = checked


_CHECKED: dict = {}  # file-picking overrides -> the data files that passed, with their (mtime, size)


def _stat(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _picks_files(override: str) -> bool:
    """Whether an override can change which config files are read: a group choice, or anything under hydra."""
    key = override.split("=", 1)[0].lstrip("+~").split("@")[0]
    return key in CONFIG_GROUPS or "/" in key or key.startswith("hydra")


def _variants(loader, overrides: list[str], multirun: bool) -> list[list[str]]:
    """``overrides`` itself, and for a multirun each single value of each config-group sweep in its place."""
    if not multirun:
        return [list(overrides)]
    from hydra.core.override_parser.overrides_parser import OverridesParser

    variants = [list(overrides)]
    repo = loader._parse_overrides_and_create_caching_repo("config", list(overrides))[1]  # with hydra.searchpath
    for i, override in enumerate(OverridesParser.create().parse_overrides(list(overrides))):
        if not override.is_sweep_override() or override.key_or_group.split("@")[0].lstrip("+~") not in CONFIG_GROUPS:
            continue
        value = override.value()
        names = value.filter(repo.get_group_options(override.key_or_group)) if hasattr(value, "filter") \
            else [str(v) for v in getattr(value, "list", [])]
        variants += [[*overrides[:i], f"{override.get_key_element()}={name}", *overrides[i + 1:]] for name in names]
    return variants


def _is_data(config_path: str, source: str, conf_dir: Path) -> bool:
    """A scenario file wherever it lives, and any file from outside ``conf_dir`` and Hydra's packages."""
    if config_path.startswith("scenario/"):
        return True
    if source.startswith(TRUSTED_SOURCES):
        return False
    return Path(source.removeprefix("file://")).resolve() != Path(conf_dir).resolve()


def _check_data_file(result, package: str, shown: str) -> None:
    """Rule 1 on one loaded file (``result``: Hydra's ``ConfigResult``), its keys placed at ``package``."""
    for entry in result.defaults_list or []:
        group = str(getattr(entry, "group", None) or getattr(entry, "path", None) or "").lstrip("/")
        if group.startswith("hydra") or str(entry.package or "").startswith("hydra"):
            picked = f"{'override ' if getattr(entry, 'override', False) else ''}/{group}"
            raise ConfigError(f"{shown}: defaults: {picked}: a scenario file is only data: it may not pick Hydra's "
                              "launcher, sweeper, callbacks or logging (give them on the command line)")
    node = OmegaConf.to_container(result.config, resolve=False) if result.config is not None else {}
    stack = [(package, node)]
    while stack:
        key, value = stack.pop()
        name = key.rsplit(".", 1)[-1]
        if name in CODE_KEYS:
            raise ConfigError(f"{shown}: {key} = {value}: a config file is only data: no '_target_' or '()' "
                              "(nothing named in a config file is ever called)")
        if key == SWEEP_PARAMS and isinstance(value, dict):
            _check_sweep_params(value, shown)
            continue
        if (key == "hydra" or key.startswith("hydra.")) and not (isinstance(value, dict) and
                                                                 SWEEP_PARAMS.startswith(key + ".")):
            raise ConfigError(f"{shown}: {key}: a scenario file may set {SWEEP_PARAMS} only under hydra (callbacks, "
                              "launchers, sweepers and logging come from the project's conf/ or the command line)")
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v) for i, v in enumerate(value) if isinstance(v, (dict, list)))


def _check_sweep_params(params: dict, shown: str) -> None:
    """A declared sweep varies config values: not ``hydra.*``, not a config group (which picks more files)."""
    for key in params:
        bare = str(key).lstrip("+~")
        if bare.startswith("hydra") or "/" in bare or "@" in bare or bare in CONFIG_GROUPS or bare in CODE_KEYS \
                or bare.rsplit(".", 1)[-1] in CODE_KEYS:
            raise ConfigError(f"{shown}: {SWEEP_PARAMS}.{key}: a declared sweep may vary config values only "
                              "(not hydra.*, a config group or a '_target_')")


def check_targets(cfg: DictConfig, within: str = "") -> None:
    """Rule 2 on a composed configuration (with its ``hydra`` node, unresolved), or on its node ``within`` only.
    Raises :class:`ConfigError`."""
    node = OmegaConf.select(cfg, within) if within else cfg
    stack = [(within, OmegaConf.to_container(node, resolve=False))]
    while stack:
        key, value = stack.pop()
        name = key.rsplit(".", 1)[-1]
        section = next((s for s in ALLOWED if key.startswith(s + ".")), None)
        logging_class = name == "class" and section in ("hydra.job_logging", "hydra.hydra_logging")
        if name in CODE_KEYS or logging_class:
            roots = ALLOWED.get(section, ())
            if not roots:
                raise ConfigError(f"{key} = {value}: unknown key (no code is named in a config: '_target_' and "
                                  "'()' are never instantiated outside Hydra's launcher, sweeper and callbacks)")
            if not (isinstance(value, str) and value.split(".")[0] in roots and "${" not in value):
                raise ConfigError(f"{key} = {value}: not an allowed class here (allowed: a class of "
                                  f"{', '.join(roots)})")
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v) for i, v in enumerate(value) if isinstance(v, (dict, list)))


def check_command(overrides: list[str], conf_dir: Path, *, multirun: bool) -> None:
    """Rules 1 and 2 for a command line that :func:`simulator.config.load_config` does not compose (a multirun, or
    Hydra's own flags): the files first, then each composition's ``hydra`` node as Hydra's sweeper would see it. A
    failure that is not a refusal is left to Hydra's own message."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    try:
        check_sources(overrides, conf_dir, multirun=multirun)
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            loader = GlobalHydra.instance().config_loader()
            for variant in _variants(loader, overrides, multirun):
                check_targets(loader.load_configuration("config", variant, RunMode.MULTIRUN if multirun
                                                        else RunMode.RUN))
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001 - composition errors are Hydra's to report, with its own message
        return


def check_saved(text: str, shown: str) -> None:
    """A saved run's configuration (``config_resolved.yaml``, ``.hydra/config.yaml``, ``results.nc``'s attribute)
    is only data: no ``hydra`` or ``defaults`` key (the rerun supplies both) and no ``_target_`` / ``()``."""
    import yaml

    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError:
        return  # the rerun's own composition reports it
    if not isinstance(values, dict):
        return
    for key in ("hydra", "defaults"):
        if key in values:
            raise ConfigError(f"{shown}: {key}: a saved configuration is only data (the rerun supplies {key})")
    stack = [("", values)]
    while stack:
        key, value = stack.pop()
        if key.rsplit(".", 1)[-1] in CODE_KEYS:
            raise ConfigError(f"{shown}: {key} = {value}: a saved configuration is only data: no '_target_' or '()'")
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v) for i, v in enumerate(value) if isinstance(v, (dict, list)))
