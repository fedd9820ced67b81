"""Season arrays: the fast paths return exactly what the general ones do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finescale.data.errors import FinescaleError
from finescale.model.datasets import season_data


@pytest.fixture(scope="module")
def sd(small):
    return season_data(small.region("area1"), "JJA")


def test_history_slice_equals_a_day_by_day_lookup(sd):
    win = (slice(2, 20), slice(5, 30))
    for day in [*sd.split.train[:4], *sd.split.val[:2]]:
        days = pd.date_range(end=day - pd.Timedelta(days=1), periods=6, freq="D")
        idx = sd.fine_days.get_indexer(days)
        np.testing.assert_array_equal(sd.fine_history(day, 6, win), sd.fine[idx, 2:20, 5:30])
    with pytest.raises(FinescaleError, match="lacks 6 days"):
        sd.fine_history(sd.fine_days[2], 6)


def test_cached_normalised_fine_is_identical(small):
    a = season_data(small.region("area1"), "JJA")
    b = season_data(small.region("area1"), "JJA")
    b.fine.cache()
    np.testing.assert_array_equal(a.fine[3:9, 4:20, :], b.fine[3:9, 4:20, :])
    assert b.fine[0].dtype == np.float32


def test_coarse_index_names_a_missing_day(sd):
    assert sd.coarse_index(sd.coarse_days[5]) == 5
    with pytest.raises(FinescaleError, match="no coarse field on 1990-01-01"):
        sd.coarse_index(pd.Timestamp("1990-01-01"))


def test_on_disk_season_reads_the_same_values_without_loading_the_record(small_dir):
    from finescale.data.layout import open_dataset

    mem, disk = open_dataset(small_dir), open_dataset(small_dir, on_disk=True)
    a = season_data(mem.region("area1"), "JJA")
    b = season_data(disk.region("area1"), "JJA")
    day = a.split.test[0]
    np.testing.assert_array_equal(a.fine_history(day, 6), b.fine_history(day, 6))
    np.testing.assert_array_equal(a.fine[[3, 7], 2:9], b.fine[[3, 7], 2:9])
    assert a.transform == b.transform
    assert not disk.region("area1").fine.variable._in_memory  # nothing held but what is read
    # training asks for the whole record in memory whatever the dataset says
    season_data(disk.region("area1"), "JJA", in_memory=True)
    assert disk.region("area1").fine.variable._in_memory


def test_disk_reads_refuse_nan():
    import xarray as xr

    from finescale.data.layout import DiskArray

    arr = DiskArray(xr.DataArray(np.array([[[1.0, np.nan]], [[1.0, 2.0]]]),
                                 dims=("time", "lat", "lon")), "region r: the fine series")
    assert arr[1].shape == (1, 2) and arr.shape == (2, 1, 2)
    with pytest.raises(FinescaleError, match="region r: the fine series has NaN"):
        arr[0:2]
