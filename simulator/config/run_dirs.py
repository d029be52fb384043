"""One directory per run: the ``unique_dir`` resolver of ``conf/config.yaml``'s run and sweep directories, and the
refusal of an explicitly given directory that already holds a run.

``hydra.run.dir: ${unique_dir:'outputs/${hydra:runtime.choices.scenario}/${now:%Y-%m-%d_%H-%M-%S}'}``: the timestamp
names the directory, and :func:`unique_dir` creates it with :func:`os.mkdir`, which either creates a new directory or
fails: of two processes asking for the same name in the same second (a shell loop, a job array, two terminals),
exactly one gets it and the other takes ``NAME-1`` (then ``-2``...). mkdir is atomic on local file systems and on
NFS/Lustre alike, unlike a check-then-create; a timestamp with microseconds and the process id would almost never
collide, but array tasks on different nodes can share a pid, and the names would stop sorting by second. The
resolver caches its value per configuration (``use_cache``; Hydra copies the cache into each job of a sweep), so
one run resolves to one directory however often its config is read.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from omegaconf import OmegaConf

from .errors import ConfigError

RUN_MARKERS = ("results.nc", ".hydra", "config_resolved.yaml")  # what a run writes into its directory
SWEEP_MARKERS = ("multirun.yaml", "sweep.nc")  # what a multirun writes into its sweep directory
OVERWRITE = "overwrite"  # `overwrite=true`: write into an explicit directory that holds a run (Config.overwrite)


def unique_dir(base: str) -> str:
    """Create and return ``base``, or the first of ``base-1``, ``base-2``... that does not exist yet."""
    Path(base).parent.mkdir(parents=True, exist_ok=True)
    for i in itertools.count():
        candidate = base if i == 0 else f"{base}-{i}"
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        return candidate
    raise AssertionError("unreachable")


def register() -> None:
    """Register ``unique_dir`` with OmegaConf (idempotent)."""
    if not OmegaConf.has_resolver("unique_dir"):
        OmegaConf.register_new_resolver("unique_dir", unique_dir, use_cache=True)


def check_run_dirs(overrides: list[str]) -> None:
    """Refuse ``hydra.run.dir=X`` when ``X`` holds a run (:data:`RUN_MARKERS`), and ``hydra.sweep.dir=X`` when it
    holds a multirun (:data:`SWEEP_MARKERS`), unless ``overwrite=true`` is given too. A directory given with an
    interpolation (``${now:...}``) is left to Hydra. Raises :class:`ConfigError`."""
    values = _values(overrides)
    if values.get(OVERWRITE) is True:
        return
    for key, markers in (("hydra.run.dir", RUN_MARKERS), ("hydra.sweep.dir", SWEEP_MARKERS)):
        given = values.get(key)
        if not isinstance(given, str) or "${" in given:
            continue
        held = [m for m in markers if (Path(given) / m).exists()]
        if held:
            raise ConfigError(f"{key}={given}: the directory already holds a run ({', '.join(held)}); give a new "
                              f"directory, leave {key} out (a fresh one each run), or add {OVERWRITE}=true to write "
                              "over it")


def clear_overwritten(overrides: list[str]) -> None:
    """With ``overwrite=true`` and an explicit ``hydra.run.dir``, delete its old ``results.nc`` before the new run
    starts: the file means "this directory's run is complete", and until the new run writes its own it is not."""
    values = _values(overrides)
    given = values.get("hydra.run.dir")
    if isinstance(given, str) and "${" not in given and values.get(OVERWRITE) is True:
        (Path(given) / "results.nc").unlink(missing_ok=True)


def _values(overrides: list[str]) -> dict:
    """Plain ``key=value`` overrides as Hydra parses them (quotes removed, ``true`` a bool); others left out."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return {}  # Hydra's own message follows
    return {o.key_or_group: o.value() for o in parsed if not o.is_delete() and not o.is_sweep_override()}
