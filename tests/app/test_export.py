"""The Export tab's files: named by what they hold, described before they are downloaded."""

from __future__ import annotations

import numpy as np
import xarray as xr

from finescale.app.tabs.export import describe, stem


def test_files_are_named_by_model_region_day_and_members():
    assert stem("diffusion · area0 · 2005-07-02", 4) == "finescale-diffusion-area0-2005-07-02-4m"
    # a user checkpoint's label may hold spaces or slashes: never a path, never a space
    assert stem("my run/v2 · sahel · 2010-08-20", 1) == "finescale-my_run_v2-sahel-2010-08-20-1m"


def test_the_description_lists_every_variable_with_its_dims():
    ds = xr.Dataset(
        {"u10": (("member", "time", "lat", "lon"), np.zeros((3, 1, 4, 5), np.float32),
                 {"long_name": "generated"}),
         "u10_truth": (("time", "lat", "lon"), np.zeros((1, 4, 5), np.float32))})
    text = describe(ds, "u10")
    assert "`u10` (member 3 × time 1 × lat 4 × lon 5): generated" in text
    assert "`u10_truth` (time 1 × lat 4 × lon 5)" in text and "CF-1.8" in text
