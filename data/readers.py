"""Readers for real MERRA-2 / G5NR files and any pair of regular lat/lon stores.

Everything funnels through :func:`read_series`: open one or many NetCDF files (a glob) or a
zarr store lazily with dask, name the coordinates ``time``/``lat``/``lon``, put longitudes
in -180..180 and latitudes ascending, crop to a bounding box, turn fill values into NaN,
average to daily means, and check the result (regular grid, no all-missing day, no gap in
time). Each problem is one :class:`FinescaleError` naming the file,
variable or value. Nothing is loaded before the crop, so 25 years of hourly files never
have to fit in memory.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.layout import ENGINE

FILL_THRESHOLD = 1e14  # MERRA-2 / G5NR use 1e15 as _FillValue; anything this large is a fill
LAT_NAMES = ("lat", "latitude", "YDim", "y", "nav_lat")
LON_NAMES = ("lon", "longitude", "XDim", "x", "nav_lon")
TIME_NAMES = ("time", "Time", "t", "valid_time")
REGULAR_RTOL = 1e-3
MERRA2_STEP = (0.5, 0.625)
G5NR_STEP = (0.0625, 0.0625)

Paths = str | Path | Sequence[str | Path]
BBox = tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max


def expand_paths(paths: Paths) -> list[Path]:
    """Expand globs; every pattern must match at least one existing file or store."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    out: list[Path] = []
    for item in items:
        s = str(Path(item).expanduser())
        if any(ch in s for ch in "*?["):
            hits = sorted(glob.glob(s))
            if not hits:
                raise FinescaleError(f"no file matches {s}")
            out += [Path(h) for h in hits]
        else:
            if not Path(s).exists():
                raise FinescaleError(f"file not found: {s}")
            out.append(Path(s))
    if not out:
        raise FinescaleError("no input files given")
    return out


def _is_zarr(p: Path) -> bool:
    return p.is_dir() and (p.suffix == ".zarr" or any(
        (p / m).exists() for m in (".zgroup", ".zarray", "zarr.json", ".zmetadata")))


def _label(files: list[Path]) -> str:
    return str(files[0]) if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more files)"


def open_store(paths: Paths) -> tuple[xr.Dataset, str]:
    """Open NetCDF file(s) or a zarr store lazily; return the dataset and a label for errors."""
    files = expand_paths(paths)
    label = _label(files)
    zarrs = [f for f in files if _is_zarr(f)]
    try:
        if zarrs:
            if len(files) > 1:
                raise FinescaleError(f"give one zarr store at a time, got {len(files)} paths")
            return xr.open_zarr(files[0], chunks={}), label
        for f in files:
            if f.is_dir():
                raise FinescaleError(f"{f} is a directory but not a zarr store")
            with open(f, "rb") as fh:
                magic = fh.read(8)
            if not (magic.startswith(b"\x89HDF") or magic.startswith(b"CDF")):
                raise FinescaleError(f"{f} is not a NetCDF file (nor a zarr store)")
        if len(files) == 1:
            return xr.open_dataset(files[0], engine=_engine(files[0]), chunks={}), label
        return xr.open_mfdataset([str(f) for f in files], engine=_engine(files[0]),
                                 combine="by_coords", chunks={}, parallel=False), label
    except FinescaleError:
        raise
    except Exception as err:
        raise FinescaleError(f"cannot open {label}: {type(err).__name__}: {err}") from None


def _engine(f: Path) -> str:
    with open(f, "rb") as fh:
        return ENGINE if fh.read(4).startswith(b"\x89HDF") else "scipy"


def _find(ds: xr.Dataset, names: tuple[str, ...], what: str, label: str) -> str:
    for n in names:
        if n in ds.coords or n in ds.dims or n in ds.variables:
            return n
    raise FinescaleError(f"{label}: no {what} coordinate (looked for {', '.join(names)})")


def _check_regular(values: np.ndarray, what: str, label: str) -> float:
    if values.ndim != 1 or values.size < 2:
        raise FinescaleError(f"{label}: {what} must be a 1-D axis with at least 2 points")
    steps = np.diff(values)
    step = float(np.median(steps))
    if step == 0 or not np.allclose(steps, step, rtol=REGULAR_RTOL, atol=1e-6):
        raise FinescaleError(
            f"{label}: {what} is not regularly spaced (steps from {steps.min():g} to "
            f"{steps.max():g} degrees)")
    return abs(step)


def standardize(ds: xr.Dataset, variable: str, label: str) -> xr.DataArray:
    """The variable as (time, lat, lon), lat ascending, lon in -180..180, fills as NaN."""
    if variable not in ds.data_vars:
        have = ", ".join(map(str, ds.data_vars)) or "none"
        raise FinescaleError(f"{label} has no variable {variable!r} (it has: {have})")
    tname = _find(ds, TIME_NAMES, "time", label)
    la, lo = _find(ds, LAT_NAMES, "latitude", label), _find(ds, LON_NAMES, "longitude", label)
    da = ds[variable].rename({tname: "time", la: "lat", lo: "lon"})
    extra = [d for d in da.dims if d not in ("time", "lat", "lon")]
    for d in extra:
        if da.sizes[d] != 1:
            raise FinescaleError(f"{label}: {variable} has an extra dimension {d!r} of size "
                                 f"{da.sizes[d]}; select one level first")
        da = da.isel({d: 0}, drop=True)
    if set(da.dims) != {"time", "lat", "lon"}:
        raise FinescaleError(f"{label}: {variable} must have dims (time, lat, lon), has {da.dims}")
    da = da.transpose("time", "lat", "lon")
    _check_regular(da["lat"].values, "latitude", label)
    _check_regular(da["lon"].values, "longitude", label)
    lon = da["lon"].values
    if lon.max() > 180:
        da = da.assign_coords(lon=((lon + 180) % 360) - 180).sortby("lon")
    if da["lat"].values[0] > da["lat"].values[-1]:
        da = da.sortby("lat")
    da = _to_datetime(da, label)
    fill = [da.attrs.get(k) for k in ("_FillValue", "missing_value", "fmissing_value")]
    da = da.where(np.abs(da) < FILL_THRESHOLD)
    for f in fill:
        if f is not None and np.isfinite(f):
            da = da.where(da != f)
    return da.astype(np.float32)


def _to_datetime(da: xr.DataArray, label: str) -> xr.DataArray:
    idx = da.indexes.get("time")
    if isinstance(idx, pd.DatetimeIndex):
        return da
    try:  # cftime calendars (noleap, 360_day, …)
        return da.assign_coords(time=idx.to_datetimeindex(unsafe=True))  # type: ignore[union-attr]
    except Exception:
        raise FinescaleError(f"{label}: cannot interpret the time coordinate ({idx[:2]!r})") \
            from None


def crop(da: xr.DataArray, bbox: BBox, label: str, pad: float = 0.0) -> xr.DataArray:
    """Crop to ``bbox`` (+ ``pad`` degrees); an empty result is an error naming both boxes."""
    lat0, lat1, lon0, lon1 = bbox
    if lat0 >= lat1 or lon0 >= lon1:
        raise FinescaleError(f"bbox {bbox} is empty: need lat_min < lat_max and lon_min < lon_max")
    out = da.sel(lat=slice(lat0 - pad, lat1 + pad), lon=slice(lon0 - pad, lon1 + pad))
    if out.sizes["lat"] < 2 or out.sizes["lon"] < 2:
        raise FinescaleError(
            f"bbox {bbox} lies outside the data of {label} (lat {float(da.lat.min()):g}.."
            f"{float(da.lat.max()):g}, lon {float(da.lon.min()):g}..{float(da.lon.max()):g})")
    return out


def daily_mean(da: xr.DataArray) -> xr.DataArray:
    """Average sub-daily steps to calendar days (daily input passes through, dated 00:00)."""
    t = pd.DatetimeIndex(da["time"].values)
    if t.normalize().has_duplicates:
        # groupby, not resample: a day with no file stays a gap, an all-fill day stays NaN
        day = xr.DataArray(t.normalize(), dims="time", coords={"time": da["time"]}, name="day")
        return da.groupby(day).mean(skipna=True).rename(day="time")
    return da.assign_coords(time=t.normalize())


def check_series(da: xr.DataArray, variable: str, label: str) -> xr.DataArray:
    """Load and validate: no all-missing day, no gap in time (signs are the transform's
    business: :func:`finescale.data.transforms.check_values`)."""
    da = da.load()
    days = pd.DatetimeIndex(da["time"].values)
    if days.has_duplicates:
        raise FinescaleError(f"{label}: duplicate days in the time coordinate")
    empty = days[da.isnull().all(("lat", "lon")).values]
    if empty.size:
        raise FinescaleError(f"{label}: {empty.size} day(s) of {variable} are all missing or "
                             f"fill values: {_days(empty)}")
    full = pd.date_range(days[0], days[-1], freq="D")
    missing = full.difference(days)
    if missing.size:
        raise FinescaleError(f"{label}: time gaps, {missing.size} missing day(s): "
                             f"{_days(missing)}")
    return da


def _days(idx: pd.DatetimeIndex, n: int = 3) -> str:
    s = ", ".join(d.strftime("%Y-%m-%d") for d in idx[:n])
    return s + (", …" if idx.size > n else "")


def read_series(paths: Paths, variable: str, bbox: BBox | None = None, pad: float = 0.0,
                step: tuple[float, float] | None = None, product: str = "") -> xr.DataArray:
    """Open, standardise, crop, average to days and check one product."""
    ds, label = open_store(paths)
    da = standardize(ds, variable, label)
    if step is not None:
        dlat = _check_regular(da["lat"].values, "latitude", label)
        dlon = _check_regular(da["lon"].values, "longitude", label)
        if not np.allclose((dlat, dlon), step, rtol=1e-3):
            raise FinescaleError(f"{label}: grid spacing {dlat:g}° × {dlon:g}° is not the "
                                 f"{product} grid ({step[0]:g}° × {step[1]:g}°)")
    if bbox is not None:
        da = crop(da, bbox, label, pad)
    return check_series(daily_mean(da), variable, label)


def read_merra2(paths: Paths, bbox: BBox | None = None, variable: str = "DUEXTTAU"
                ) -> xr.DataArray:
    """MERRA-2 M2T1NXAER (tavg1_2d_aer_Nx) hourly files → daily means on 0.5° × 0.625°.

    The crop keeps one extra coarse cell around ``bbox`` so every fine point has neighbours.
    """
    return read_series(paths, variable, bbox, pad=max(MERRA2_STEP), step=MERRA2_STEP,
                       product="MERRA-2")


def read_g5nr(paths: Paths, bbox: BBox | None = None, variable: str = "DUEXTTAU"
              ) -> xr.DataArray:
    """GEOS-5 Nature Run aerosol files (30-minute, 0.0625°) → daily means cropped to bbox."""
    return read_series(paths, variable, bbox, step=G5NR_STEP, product="G5NR")
