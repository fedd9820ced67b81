"""Turn a user's coarse/fine pair of stores into a finescale dataset directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.layout import RegionData, ensure_writable, write_dataset
from finescale.data.readers import BBox, Paths, crop, open_store, read_series
from finescale.data.regrid import weights_1d
from finescale.data.seasons import SEASONS
from finescale.data.splits import SplitConfig, make_split
from finescale.data.static_layers import GLOBAL_FILE, static_on_grid
from finescale.data.transforms import check_transform, check_values, choose_transform


def _extent(da: xr.DataArray) -> BBox:
    return (float(da.lat.min()), float(da.lat.max()), float(da.lon.min()), float(da.lon.max()))


def overlap(ea: BBox, eb: BBox, la: str, lb: str) -> BBox:
    """Intersection of two extents; an error naming both when they do not overlap."""
    box = (max(ea[0], eb[0]), min(ea[1], eb[1]), max(ea[2], eb[2]), min(ea[3], eb[3]))
    if box[0] >= box[1] or box[2] >= box[3]:
        raise FinescaleError(f"the grids do not overlap: {la} covers lat {ea[0]:g}..{ea[1]:g}, "
                             f"lon {ea[2]:g}..{ea[3]:g}; {lb} covers lat {eb[0]:g}..{eb[1]:g}, "
                             f"lon {eb[2]:g}..{eb[3]:g}")
    return box


def static_for(lat: np.ndarray, lon: np.ndarray, static_path: Path | None) -> xr.Dataset:
    """Elevation, land mask and bare fraction on the fine grid: from a user file when given,
    else from the shipped global layers (any region on Earth)."""
    if static_path is None:
        return static_on_grid(lat, lon)
    ds, label = open_store(static_path)
    if "elevation" not in ds:
        raise FinescaleError(f"{label} has no variable 'elevation'")
    ds = ds.load()
    la, lo = ds["lat"].values, ds["lon"].values
    if lat.min() < la.min() - 1e-6 or lat.max() > la.max() + 1e-6 or \
            lon.min() < lo.min() - 1e-6 or lon.max() > lo.max() + 1e-6:
        raise FinescaleError(f"the static layers in {label} do not cover the fine grid (lat "
                             f"{lat.min():g}..{lat.max():g}, lon {lon.min():g}..{lon.max():g})")
    layers = (("elevation", "bilinear"), ("land_mask", "nearest"), ("bare_fraction", "bilinear"))
    # the shipped layers only for what the user's file lacks (reading them costs ~65 MB)
    shipped = static_on_grid(lat, lon) if any(n not in ds for n, _ in layers) else None
    out = {}
    for name, method in layers:
        if name in ds:
            w1, w2 = weights_1d(la, lat, method), weights_1d(lo, lon, method)
            out[name] = (("lat", "lon"), (w1 @ ds[name].values @ w2.T).astype(np.float32),
                         dict(ds[name].attrs))
        else:
            out[name] = shipped[name]  # type: ignore[index]
    return xr.Dataset(out, coords={"lat": lat, "lon": lon})


def trainable_seasons(days: pd.DatetimeIndex, region_name: str) -> list[str]:
    """Seasons with enough fine days (each with its history) to split; an error if none."""
    ok, why = [], []
    for season in SEASONS:
        try:
            make_split(days, season)
            ok.append(season)
        except FinescaleError as err:
            why.append(str(err))
    if not ok:
        raise FinescaleError(f"region {region_name}: {days.size} fine day(s) "
                             f"({days[0]:%Y-%m-%d} .. {days[-1]:%Y-%m-%d}) are too few to train "
                             f"any season ({why[0]}); a season needs at least "
                             f"{SplitConfig().history + 2} consecutive daily fields")
    return ok


def import_pair(coarse: Paths, fine: Paths, variable: str, out: Path, region_name: str = "region0",
                bbox: BBox | None = None, static: Path | None = None, overwrite: bool = False,
                transform: str | None = None) -> Path:
    """Read, crop, check and write a coarse/fine pair as a one-region dataset.

    ``transform``: ``log``, ``standard`` or ``none``; by default chosen from the fine values
    (:func:`~finescale.data.transforms.choose_transform`) and recorded with its reason.
    """
    if transform is not None:
        check_transform(transform)
    ensure_writable(out, overwrite)
    c = read_series(coarse, variable)
    f = read_series(fine, variable)
    box = overlap(_extent(c), _extent(f), "the coarse data", "the fine data")
    if bbox is not None:
        box = overlap(tuple(bbox), box, f"bbox {tuple(bbox)}", "the data")  # type: ignore[arg-type]
    f = crop(f, box, "the fine data")
    step_c = max(float(np.diff(c.lat).mean()), float(np.diff(c.lon).mean()))
    c = crop(c, box, "the coarse data", pad=step_c)
    common = np.intersect1d(c.time.values, f.time.values)
    if common.size == 0:
        raise FinescaleError("the coarse and fine series share no day")
    seasons = trainable_seasons(pd.DatetimeIndex(f.time.values), region_name)
    if transform is None:
        transform, reason = choose_transform(f.values, variable)
    else:
        reason = "chosen by the user"
    for da, what in ((c, "the coarse data"), (f, "the fine data")):
        check_values(transform, da.values, variable, what)
    st = static_for(f.lat.values, f.lon.values, static)
    manifest = {
        "transform": transform, "transform_reason": reason,
        "variable": variable, "units": str(f.attrs.get("units", c.attrs.get("units", "1"))),
        "long_name": str(f.attrs.get("long_name", variable)),
        "source": {"coarse": _names(coarse), "fine": _names(fine)},
        "generator": None,
        "static_source": str(static) if static else f"finescale {GLOBAL_FILE}",
    }
    reg = RegionData(name=region_name, coarse=c, fine=f, static=st,
                     meta={"bbox": list(box), "description": "imported",
                           "seasons": seasons}, transform=transform)
    return write_dataset(out, [reg], manifest, overwrite=overwrite)


def _names(p: Paths) -> str:
    return str(p) if isinstance(p, str | Path) else ", ".join(map(str, p))
