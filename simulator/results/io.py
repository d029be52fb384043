"""Atomic writes: a reader never sees a half-written results file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xarray as xr


def write_atomic(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` to ``path`` as netCDF via a temporary file in the same folder and an atomic rename.

    Numeric variables are compressed (zlib level 4); text variables are stored as they are. The file gets the
    permissions the user's umask gives a new file (``0o666 & ~umask``, like every other file of a run), not the
    temporary file's private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".nc.tmp", dir=path.parent)
    os.close(fd)
    try:
        encoding = {n: {"zlib": True, "complevel": 4} for n, v in ds.data_vars.items() if v.dtype.kind in "fiub"}
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
