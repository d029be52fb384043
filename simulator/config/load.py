"""Compose and validate a configuration: the only place that turns a Hydra ``DictConfig`` into a typed :class:`Config`.

Used by the command line (:mod:`simulator.app.run`) and by notebooks (``simulator.load_config(["scenario=hybrid"])``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from . import run_dirs, schema, warnings
from .errors import ConfigError
from .overrides import check_overrides
from .safety import check_sources, check_targets
from .sweeps import expand_sweeps
from .validate import check, check_known_keys

CONF_DIR = Path(__file__).resolve().parent.parent.parent / "conf"
schema.register()
run_dirs.register()  # the unique_dir resolver of conf/config.yaml's hydra.run.dir


def load_config(overrides: list[str], *, warn: bool = True) -> schema.Config:
    """Compose ``conf/config.yaml`` with ``overrides`` (Hydra's compose API) and validate it; ``warn``: log the
    warnings of :mod:`simulator.config.warnings`. Config files are checked first (:mod:`simulator.config.safety`).

    Raises the underlying Hydra/OmegaConf exception or :class:`ConfigError`; :func:`error_line` phrases either.
    """
    from hydra import compose, initialize_config_dir

    check_overrides(overrides)
    try:
        check_sources(overrides, CONF_DIR)  # a scenario file is only data (simulator.config.safety)
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
    except ConfigError:
        raise
    except Exception as exc:
        scalar = _scalar_prior(exc, overrides)
        if scalar:
            raise ConfigError(scalar) from exc
        raise
    check_targets(cfg, "hydra")  # nothing outside the allowlist is named, even on the command line
    with open_dict(cfg):
        del cfg["hydra"]  # checked; the rest is the model's configuration
    config = to_validated(cfg, overrides=overrides, warn=warn)  # a _target_ where the schema has keys: unknown key
    check_targets(cfg)  # and none in the free-form nodes (sweeps' grids) either
    return config


def _scalar_prior(exc: Exception, overrides: list[str]) -> str | None:
    """Name the prior a config file set to a plain number (OmegaConf's merge error does not say which)."""
    text = str(exc)
    match = re.search(r"In '([\w/\-.]+)'.*is not a subclass of PriorSpec", text, flags=re.S)
    if not match:
        return None
    roots = [CONF_DIR] + [Path(p) for arg in overrides if arg.startswith("hydra.searchpath=")
                          for p in re.findall(r"file://([^,\]'\"]+)", arg)]
    for root in roots:
        path = Path(root) / f"{match.group(1)}.yaml"
        if not path.is_file():
            continue
        try:
            node = OmegaConf.to_container(OmegaConf.load(path))
        except Exception:
            return None
        stack = [("", node)]
        while stack:
            key, value = stack.pop()
            if isinstance(value, dict):
                stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
            elif key.startswith("priors.") or (key.startswith("runs.") and key.rsplit(".", 1)[-1] in schema.RUN_PRIORS) \
                    or (key.startswith("providers.") and key.rsplit(".", 1)[-1] in schema.PROVIDER_PRIORS):
                return (f"{key} = {value}: a prior needs a distribution, e.g. {{dist: fixed, value: {value}}} "
                        f"(in {path.name})")
    return None


def to_validated(cfg: DictConfig, *, overrides: list[str] | None = None, warn: bool = True) -> schema.Config:
    """Typed, validated config object from a composed ``DictConfig`` (the only place that reads DictConfig).

    With ``warn``, valid but hopeless input is logged, one ``WARNING`` line each (:mod:`simulator.config.warnings`;
    ``overrides``: the command line, by default Hydra's record of it in ``cfg.hydra``)."""
    if overrides is None and "hydra" in cfg:
        overrides = list(cfg.hydra.overrides.task)
    if "hydra" in cfg:  # a copy without Hydra's node (masked_copy would drop the schema's type)
        cfg = copy.deepcopy(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, schema.Config):
        raise ConfigError(
            "the composed config is not typed by the schema (conf/config.yaml must list 'schema')"
        )
    check_known_keys(cfg, obj)
    check(obj)
    if warn:
        warnings.warn(obj, overrides or [])
    return expand_sweeps(obj)


