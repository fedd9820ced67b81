"""Point and box probes of a region's maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finescale.data import probe
from finescale.data.errors import FinescaleError


@pytest.fixture(scope="module")
def region(small):
    return small.region("area1")


def test_point_series_holds_the_cells_under_the_point(region):
    fine, coarse = region.fine, region.coarse
    days = pd.date_range("2006-07-01", "2006-07-05")
    lat, lon = float(fine.lat[10]), float(fine.lon[20])
    gen = fine.sel(time=days).expand_dims(member=[0, 1]) * xr_member_gain()
    s = probe.point_series(coarse, fine, lat + 0.001, lon - 0.001, days, gen)
    assert (s.attrs["lat"], s.attrs["lon"]) == (lat, lon)
    np.testing.assert_allclose(s["truth"], fine.sel(time=days, lat=lat, lon=lon))
    np.testing.assert_allclose(s["members"].sel(member=1), 2 * s["truth"])
    clat = coarse.lat.values[np.abs(coarse.lat.values - lat).argmin()]
    clon = coarse.lon.values[np.abs(coarse.lon.values - lon).argmin()]
    np.testing.assert_allclose(s["coarse"], coarse.sel(time=days, lat=clat, lon=clon))


def xr_member_gain():
    import xarray as xr

    return xr.DataArray([1.0, 2.0], dims="member", coords={"member": [0, 1]})


def test_days_outside_the_fine_record_are_nan(region):
    days = pd.date_range("2004-07-01", "2004-07-03")  # coarse only
    s = probe.point_series(region.coarse, region.fine, float(region.fine.lat[5]),
                           float(region.fine.lon[5]), days)
    assert np.isnan(s["truth"]).all() and np.isfinite(s["coarse"]).all()


def test_box_series_is_the_mean_over_the_cells_inside(region):
    fine = region.fine
    days = pd.date_range("2006-07-01", "2006-07-02")
    box = (float(fine.lon[3]), float(fine.lon[8]), float(fine.lat[2]), float(fine.lat[4]))
    s = probe.box_series(region.coarse, fine, box, days)
    assert s.attrs["cells"] == 6 * 3
    want = fine.sel(time=days).isel(lat=slice(2, 5), lon=slice(3, 9)).mean(("lat", "lon"))
    np.testing.assert_allclose(s["truth"], want)
    # a box inside one coarse cell still has that coarse cell
    tiny = (box[0], box[0] + 1e-3, box[2], box[2] + 1e-3)
    assert np.isfinite(probe.box_series(region.coarse, fine, tiny, days)["coarse"]).all()


def test_bad_probes_say_what_is_wrong(region):
    grid = region.fine.isel(time=0)
    with pytest.raises(FinescaleError, match="outside the map"):
        probe.nearest_cell(grid, 80.0, 10.0)
    lat, lon = float(grid.lat[0]), float(grid.lon[0])
    step = abs(float(grid.lat[1] - grid.lat[0]))
    with pytest.raises(FinescaleError, match="holds no grid cell"):
        probe.in_box(grid, (lon + 0.2 * step, lon + 0.3 * step, lat + 0.2 * step,
                            lat + 0.3 * step))
    with pytest.raises(FinescaleError, match="holds no grid cell"):
        probe.in_box(grid, (lon, lon, lat - 5, lat - 4))


def test_window_stays_in_the_allowed_days():
    allowed = pd.date_range("2006-06-01", "2006-08-31")
    w = probe.window(pd.Timestamp("2006-06-02"), 3, allowed)
    assert list(w) == list(pd.date_range("2006-06-01", "2006-06-05"))
