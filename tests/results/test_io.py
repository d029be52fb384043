"""``results.nc`` is written atomically with the permissions of any other file of the run (issue 15, item 3)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import xarray as xr

from simulator.results.io import write_atomic


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_results_file_mode_follows_the_umask(tmp_path, umask):
    ds = xr.Dataset({"cost": ("path", np.arange(4.0))})
    previous = os.umask(umask)
    try:
        write_atomic(ds, tmp_path / "results.nc")
        (tmp_path / "summary.md").write_text("x")  # what any other file of the run gets
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "results.nc").stat().st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE((tmp_path / "summary.md").stat().st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    xr.testing.assert_identical(xr.open_dataset(tmp_path / "results.nc", engine="h5netcdf").load(), ds)
