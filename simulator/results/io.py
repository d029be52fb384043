"""Atomic writes: a reader never sees a half-written results file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xarray as xr


def write_atomic(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` to ``path`` as netCDF via a temporary file in the same folder and an atomic rename.

    Numeric variables are compressed (zlib level 4); text variables are stored as they are.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".nc.tmp", dir=path.parent)
    os.close(fd)
    try:
        encoding = {n: {"zlib": True, "complevel": 4} for n, v in ds.data_vars.items() if v.dtype.kind in "fiub"}
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
