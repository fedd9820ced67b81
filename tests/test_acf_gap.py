"""scripts/acf_gap.py on a synthetic roll-out whose answer is known: the truth's fine detail
persists from day to day (AR(1), ρ = 0.8), the members' is drawn afresh each day."""

from __future__ import annotations

import numpy as np
import xarray as xr

from tests.scripts import load_script


def _script():
    return load_script("acf_gap")


def _ar1(rng, shape, rho):
    x = np.empty(shape)
    x[0] = rng.standard_normal(shape[1:])
    for t in range(1, shape[0]):
        x[t] = rho * x[t - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(shape[1:])
    return x


def test_the_gap_is_in_the_fine_residual(tmp_path):
    rng = np.random.default_rng(0)
    days, ny, members = 24, 32, 3
    lat, lon = 30 + 0.125 * np.arange(ny), 60 + 0.125 * np.arange(ny)
    clat, clon = lat[::8] + 0.4375, lon[::8] + 0.4375
    coarse = 10 ** (-1 + 0.2 * _ar1(rng, (days, 4, 4), 0.7))  # persistent large scale
    base = np.stack([np.asarray(xr.DataArray(np.log10(c), dims=("lat", "lon"),
                                             coords={"lat": clat, "lon": clon})
                                .interp(lat=lat, lon=lon, kwargs={"fill_value": None}))
                     for c in coarse])
    truth = 10 ** (base + 0.1 * _ar1(rng, (days, ny, ny), 0.8))
    gen = 10 ** (base[None] + 0.1 * rng.standard_normal((members, days, ny, ny)))
    time = np.datetime64("2006-07-02") + np.arange(days).astype("timedelta64[D]")
    ds = xr.Dataset({"x": (("member", "time", "lat", "lon"), gen),
                     "x_truth": (("time", "lat", "lon"), truth),
                     "x_coarse": (("time", "lat_coarse", "lon_coarse"), coarse)},
                    coords={"time": time, "lat": lat, "lon": lon, "lat_coarse": clat,
                            "lon_coarse": clon})
    ds.to_netcdf(tmp_path / "roll.nc")
    out = _script().gap(tmp_path / "roll.nc", lags=3)
    assert out["days"] == days and out["members"] == members
    assert out["acf_residual"]["truth"][1] > 0.6 and abs(out["acf_residual"]["members"][1]) < 0.1
    assert out["acf_total"]["members"][1] < out["acf_total"]["truth"][1]
    assert out["acf_base"][1] > 0.4  # the coarse input's persistence is shared
    assert 0.9 < out["residual_std_ratio"] < 1.1 and out["acf_error"] > 0.3
