"""A user's own coarse/fine pair outside the study areas: 10-m eastward wind over the Sahel.

A signed field (m s-1) on a 0.5° × 0.625° coarse grid and a 0.0625° fine grid, one NetCDF
file per product: smooth day-to-day weather (an AR(1) of a few large-scale modes), terrain
channelling on the fine grid, and a coarse product that is a smoothed, biased, noisy view
of it. Small enough to import, train and generate in seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

FINE_DAYS = pd.date_range("2010-06-01", "2010-08-31", freq="D")  # JJA, with 40-day history
COARSE_DAYS = pd.date_range("2010-05-01", "2010-09-30", freq="D")
LAT = 12.0 + 0.0625 * (np.arange(48) + 0.5)
LON = 0.0 + 0.0625 * (np.arange(64) + 0.5)
CLAT = np.arange(11.0, 16.01, 0.5)
CLON = np.arange(-1.25, 5.01, 0.625)
ATTRS = {"units": "m s-1", "long_name": "10-metre eastward wind", "standard_name":
         "eastward_wind"}


def _field(days: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    la, lo = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    modes = [np.sin(k * la * 9 + p) * np.cos(m * lo * 7 + q)
             for k, m, p, q in rng.uniform(0.5, 3.0, (6, 4))]
    amp = np.zeros(len(modes))
    out = np.empty((days.size, lat.size, lon.size), np.float32)
    season = 2.0 * np.sin(2 * np.pi * (days.day_of_year.to_numpy() - 120) / 365.25)
    terrain = 1.5 * np.sin(lo * 60) * np.cos(la * 45)  # fine-scale channelling
    for t in range(days.size):
        amp = 0.8 * amp + rng.normal(0, 1.2, amp.size)
        out[t] = season[t] - 1.0 + sum(a * m for a, m in zip(amp, modes, strict=True)) + terrain
    return out


def write_pair(root: Path, seed: int = 7) -> tuple[Path, Path]:
    """``root/coarse/u10_coarse.nc`` and ``root/fine/u10_fine.nc``; returns both folders."""
    rng = np.random.default_rng(seed)
    c_dir, f_dir = root / "coarse", root / "fine"
    c_dir.mkdir(parents=True, exist_ok=True)
    f_dir.mkdir(parents=True, exist_ok=True)
    whole = _field(COARSE_DAYS, LAT, LON, rng)
    fine = xr.DataArray(whole[COARSE_DAYS.isin(FINE_DAYS)], name="u10",
                        dims=("time", "lat", "lon"),
                        coords={"time": FINE_DAYS, "lat": LAT, "lon": LON}, attrs=ATTRS)
    # the coarse product: the field smoothed onto coarse cells (edges held), biased and noisy
    full = xr.DataArray(whole, dims=("time", "lat", "lon"),
                        coords={"time": COARSE_DAYS, "lat": LAT, "lon": LON})
    smooth = full.coarsen(lat=8, lon=8, boundary="trim").mean()
    held = {"fill_value": "extrapolate"}
    coarse = smooth.interp(lat=CLAT, kwargs=held).interp(lon=CLON, kwargs=held).values
    coarse = coarse + 0.3 + rng.normal(0, 0.4, coarse.shape)
    cda = xr.DataArray(coarse.astype(np.float32), name="u10", dims=("time", "lat", "lon"),
                       coords={"time": COARSE_DAYS, "lat": CLAT, "lon": CLON}, attrs=ATTRS)
    cda.to_netcdf(c_dir / "u10_coarse.nc", engine="h5netcdf")
    fine.to_netcdf(f_dir / "u10_fine.nc", engine="h5netcdf")
    return c_dir, f_dir
