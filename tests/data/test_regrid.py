from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.regrid import coarse_cells, regrid, to_coarse

LAT_C, LON_C = np.arange(20.0, 26.0, 0.5), np.arange(40.0, 47.5, 0.625)
LAT_F, LON_F = np.arange(21.0, 25.0, 0.0625), np.arange(41.0, 46.0, 0.0625)


def _field(fn) -> xr.DataArray:
    la, lo = np.meshgrid(LAT_C, LON_C, indexing="ij")
    return xr.DataArray(fn(la, lo)[None], dims=("time", "lat", "lon"),
                        coords={"time": [0], "lat": LAT_C, "lon": LON_C})


def test_nearest_copies_the_nearest_cell():
    da = _field(lambda la, lo: la * 100 + lo)
    lat, lon = LAT_F + 0.01, LON_F + 0.01  # no exact ties between two coarse centres
    out = regrid(da, lat, lon, "nearest")
    i = np.abs(lat[:, None] - LAT_C[None]).argmin(1)
    j = np.abs(lon[:, None] - LON_C[None]).argmin(1)
    np.testing.assert_allclose(out.values[0], da.values[0][np.ix_(i, j)], rtol=1e-6)


@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
def test_linear_fields_are_reproduced(method):
    da = _field(lambda la, lo: 2 * la - 3 * lo + 1)
    out = regrid(da, LAT_F, LON_F, method)
    la, lo = np.meshgrid(LAT_F, LON_F, indexing="ij")
    np.testing.assert_allclose(out.values[0], 2 * la - 3 * lo + 1, rtol=1e-5, atol=1e-4)


def test_edges_clamp_and_bad_method():
    da = _field(lambda la, lo: la)
    out = regrid(da, np.array([10.0, 30.0]), LON_F, "bilinear")
    np.testing.assert_allclose(out.values[0, :, 0], [LAT_C[0], LAT_C[-1]])
    with pytest.raises(FinescaleError, match="unknown regrid method"):
        regrid(da, LAT_F, LON_F, "spline")  # type: ignore[arg-type]


def test_coarse_cells_average_the_fine_points_of_covered_cells():
    fine = np.arange(0.125, 4, 0.25)  # 16 points, 0..4
    W = coarse_cells(fine, np.array([0.5, 1.5, 2.5, 3.5, 4.5]))
    assert np.allclose(W[:4].sum(axis=1), 1) and np.isnan(W[4]).all()  # 4.5 not covered
    z = np.tile(fine, (16, 1))
    c = to_coarse(z, W, W)
    assert np.allclose(c[:4, :4], [0.5, 1.5, 2.5, 3.5])


def test_match_cell_means_makes_every_covered_cell_equal_its_coarse_value():
    from finescale.data.regrid import match_cell_means

    rng = np.random.default_rng(0)
    fine = np.arange(0.125, 4, 0.25)
    W = coarse_cells(fine, np.array([0.5, 1.5, 2.5, 3.5, 4.5]))
    z = rng.lognormal(0, 0.5, (2, 16, 16))
    c = rng.lognormal(0, 0.5, (5, 5))
    for mult in (True, False):
        out = match_cell_means(z, c, W, W, mult)
        assert np.allclose(to_coarse(out, W, W)[:, :4, :4], c[:4, :4])
        if mult:  # a scaling keeps the texture within a cell: ratios unchanged
            assert np.allclose(out[0, :4, :4] / out[0, 0, 0], z[0, :4, :4] / z[0, 0, 0])
