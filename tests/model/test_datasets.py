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


def test_model_year_is_the_days_own_inside_the_fitted_span_and_pinned_outside():
    from finescale.model.datasets import fitted_years, model_year

    # a JJA model fitted on June 2005 .. August 2006
    span = fitted_years(pd.DatetimeIndex(["2005-06-01", "2006-08-31"]))
    own = lambda d: d.year + d.day_of_year / 365.25  # noqa: E731
    inside = pd.Timestamp("2005-07-14")
    assert model_year(inside, span) == own(inside)
    # July 2022 sees July 2006 (the nearest fitted July), July 2001 sees July 2005
    assert model_year(pd.Timestamp("2022-07-14"), span) == pytest.approx(
        2006 + pd.Timestamp("2022-07-14").day_of_year / 365.25)
    assert model_year(pd.Timestamp("2001-07-14"), span) == pytest.approx(
        2005 + pd.Timestamp("2001-07-14").day_of_year / 365.25)
    # a day of the year a one-season span never reaches is clamped to the span's end
    jja = fitted_years(pd.DatetimeIndex(["2005-06-01", "2005-08-31"]))
    assert model_year(pd.Timestamp("2024-12-01"), jja) == pytest.approx(jja[1])
    assert model_year(pd.Timestamp("2000-03-01"), jja) == pytest.approx(jja[0])
    assert model_year(pd.Timestamp("2024-12-31"), None) == own(pd.Timestamp("2024-12-31"))
    # DJF across the new year: December and January keep their order
    djf = fitted_years(pd.DatetimeIndex(["2005-12-01", "2007-02-28"]))
    dec, jan = (model_year(pd.Timestamp(d), djf) for d in ("2022-12-31", "2023-01-01"))
    assert 2006.9 < dec < jan < 2007.1


def test_scored_days_see_their_own_year_and_record_years_a_fitted_one(sd):
    from finescale.model.datasets import YEAR0, YEARS, time_planes

    fit = sd.split.train.union(sd.split.val)
    assert sd.year_span == (fit.min().year + fit.min().day_of_year / 365.25,
                            fit.max().year + fit.max().day_of_year / 365.25)
    for day in [*sd.split.test, *fit[:3], *fit[-3:]]:
        np.testing.assert_array_equal(sd.cond(day)[4], time_planes(day)[0])
    # before the fine record (the small dataset's coarse record starts a year earlier)
    early = sd.coarse_days[30]
    assert early < fit.min() and sd.cond(early)[4, 0, 0] != time_planes(early)[0]
    far = pd.Timestamp("2022-07-14")
    year_seen = time_planes(far, sd.year_span)[0] * YEARS + YEAR0
    assert sd.year_span[0] <= year_seen <= sd.year_span[1]
    assert abs(year_seen - (2022 + far.day_of_year / 365.25)) > 10



def test_a_checkpoints_span_replaces_the_splits(small):
    from finescale.model.datasets import YEAR0, YEARS

    sd = season_data(small.region("area1"), "JJA", year_span=[2005.5, 2005.6])
    assert sd.year_span == (2005.5, 2005.6)
    assert 2005.5 <= sd.cond(sd.split.test[0])[4, 0, 0] * YEARS + YEAR0 <= 2005.6 + 1e-5
