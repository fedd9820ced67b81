"""Static layers (elevation, land mask, bare-soil fraction) on any fine grid on Earth.

From the global file shipped in ``assets/static/global_static.nc`` (built from public
sources by :mod:`finescale.data.static_build`):

* ``elevation``: pvlib ``Altitude.h5`` at 1/12°, stored as its own uint8 codes with CF
  packing (metres = code × 28 − 450; code 255 = sea / no data, read back as NaN);
* ``land_cover``: MODIS MCD12C1 2019 IGBP classes at 0.05° (0 = water, 16 = barren).

:func:`layers_on` turns source rasters into the three layers on a target grid; the shipped
study-area file and an imported region of any size use the same function.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import xarray as xr
from scipy.ndimage import uniform_filter

from finescale.data.errors import FinescaleError
from finescale.data.regrid import weights_1d
from finescale.data.resources import asset

GLOBAL_FILE = "global_static.nc"
MODIS_BARREN = 16
ELEV_MIN = -430.0  # the Dead Sea shore: lower values are interpolation against the sea flag
PAD = 3  # source cells beyond the target grid on each side (interpolation and 3 × 3 mean)


def _rows_cols(src_lat: np.ndarray, src_lon: np.ndarray, lat: np.ndarray, lon: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the source rows / columns around the target grid; columns wrap at ±180°."""
    res_lat, res_lon = src_lat[1] - src_lat[0], src_lon[1] - src_lon[0]
    r0 = int(np.floor((lat.min() - src_lat[0]) / res_lat)) - PAD
    r1 = int(np.ceil((lat.max() - src_lat[0]) / res_lat)) + PAD
    c0 = int(np.floor((lon.min() - src_lon[0]) / res_lon)) - PAD
    c1 = int(np.ceil((lon.max() - src_lon[0]) / res_lon)) + PAD
    rows = np.arange(max(r0, 0), min(r1, src_lat.size - 1) + 1)
    return rows, np.arange(c0, c1 + 1)


def _window(values: np.ndarray, src_lat: np.ndarray, src_lon: np.ndarray, lat: np.ndarray,
            lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = _rows_cols(src_lat, src_lon, lat, lon)
    res_lon = src_lon[1] - src_lon[0]
    sub = values[rows][:, cols % src_lon.size]
    return sub, src_lat[rows], src_lon[0] + cols * res_lon


def _resample(src: np.ndarray, src_lat: np.ndarray, src_lon: np.ndarray, lat: np.ndarray,
              lon: np.ndarray, method: str) -> np.ndarray:
    wl = weights_1d(src_lat, lat, method)  # type: ignore[arg-type]
    wo = weights_1d(src_lon, lon, method)  # type: ignore[arg-type]
    return wl @ src @ wo.T


def layers_on(lat: np.ndarray, lon: np.ndarray, elevation: xr.DataArray,
              land_cover: xr.DataArray) -> xr.Dataset:
    """Elevation (m, bilinear; 0 at sea), land mask (nearest, from the elevation's sea flag)
    and bare fraction (share of barren pixels in a 3 × 3 neighbourhood, bilinear) on the
    ascending grid ``lat`` × ``lon`` from global rasters with ascending coordinates."""
    e, elat, elon = _window(elevation.values, elevation["lat"].values,
                            elevation["lon"].values, lat, lon)
    sea = ~np.isfinite(e)
    elev = _resample(np.where(sea, 0.0, e), elat, elon, lat, lon, "bilinear")
    land = _resample((~sea).astype(float), elat, elon, lat, lon, "nearest") > 0.5
    c, clat, clon = _window(land_cover.values, land_cover["lat"].values,
                            land_cover["lon"].values, lat, lon)
    barren = uniform_filter((c == MODIS_BARREN).astype(float), size=3)
    bare = np.clip(_resample(barren, clat, clon, lat, lon, "bilinear"), 0, 1)
    return xr.Dataset(
        {
            "elevation": (("lat", "lon"), np.where(land, np.maximum(elev, ELEV_MIN), 0.0)
                          .astype(np.float32),
                          {"units": "m", "long_name": "surface elevation",
                           "source": "pvlib Altitude.h5 (1/12 deg), bilinear"}),
            "land_mask": (("lat", "lon"), land.astype(np.float32),
                          {"units": "1", "long_name": "land (1) / sea (0)",
                           "source": "pvlib Altitude.h5 sea flag, nearest"}),
            "bare_fraction": (("lat", "lon"), bare.astype(np.float32),
                              {"units": "1", "long_name": "fraction of barren land cover",
                               "source": "MODIS MCD12C1 2019 IGBP class 16, 0.05 deg, 3x3 mean"}),
        },
        coords={"lat": ("lat", np.asarray(lat, dtype=np.float64),
                        {"units": "degrees_north", "standard_name": "latitude"}),
                "lon": ("lon", np.asarray(lon, dtype=np.float64),
                        {"units": "degrees_east", "standard_name": "longitude"})},
    )


@cache
def global_layers() -> tuple[xr.DataArray, xr.DataArray]:
    """The shipped global elevation and land-cover rasters (decoded, in memory: ~65 MB)."""
    path = asset("static", GLOBAL_FILE)
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return (ds["elevation"].astype(np.float32).load(),
                    ds["land_cover"].rename(lat_lc="lat", lon_lc="lon").load())
    except (OSError, KeyError, ValueError) as err:
        raise FinescaleError(f"cannot read the shipped static layers {path}: {err}") from None


def static_on_grid(lat: np.ndarray, lon: np.ndarray) -> xr.Dataset:
    """The three static layers on any regular grid on Earth, from the shipped global file."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    if lat.min() < -90 or lat.max() > 90:
        raise FinescaleError(f"latitudes {lat.min():g}..{lat.max():g} are outside -90..90")
    elevation, land_cover = global_layers()
    out = layers_on(lat, lon, elevation, land_cover)
    out.attrs["source"] = f"finescale {GLOBAL_FILE}"
    return out
