"""Probing a region's maps: a point's or a box's series of coarse input, fine truth and
generated members (xarray in and out; what the dashboard's click and box show)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data.errors import FinescaleError

Box = tuple[float, float, float, float]  # lon0, lon1, lat0, lat1


def nearest_cell(grid: xr.DataArray, lat: float, lon: float) -> tuple[float, float]:
    """The grid cell under (lat, lon); a point beside the grid is an error, not its edge."""
    la, lo = grid["lat"].values, grid["lon"].values
    hy = abs(la[1] - la[0]) / 2 if la.size > 1 else 0.5
    hx = abs(lo[1] - lo[0]) / 2 if lo.size > 1 else 0.5
    if not (la.min() - hy <= lat <= la.max() + hy and lo.min() - hx <= lon <= lo.max() + hx):
        raise FinescaleError(f"({lat:.2f}°N, {lon:.2f}°E) is outside the map "
                             f"({la.min():.2f}..{la.max():.2f}°N, "
                             f"{lo.min():.2f}..{lo.max():.2f}°E)")
    return float(la[np.abs(la - lat).argmin()]), float(lo[np.abs(lo - lon).argmin()])


def in_box(grid: xr.DataArray, box: Box) -> dict[str, np.ndarray]:
    """Indexers of the cells whose centres lie in ``box``; an error if there are none."""
    x0, x1, y0, y1 = min(box[:2]), max(box[:2]), min(box[2:]), max(box[2:])
    la, lo = grid["lat"].values, grid["lon"].values
    ky, kx = np.flatnonzero((la >= y0) & (la <= y1)), np.flatnonzero((lo >= x0) & (lo <= x1))
    if ky.size == 0 or kx.size == 0:
        raise FinescaleError(f"the box {x0:.2f}..{x1:.2f}°E, {y0:.2f}..{y1:.2f}°N holds no "
                             "grid cell: drag a larger one")
    return {"lat": ky, "lon": kx}


def _on_days(da: xr.DataArray, days: pd.DatetimeIndex) -> xr.DataArray:
    """``da`` on ``days`` (NaN where it has no field), without its point's coordinates
    (coarse and fine cells differ)."""
    return da.reset_coords(drop=True).reindex(time=days)


def point_series(coarse: xr.DataArray, fine: xr.DataArray, lat: float, lon: float,
                 days: pd.DatetimeIndex, generated: xr.DataArray | None = None) -> xr.Dataset:
    """Series at the fine cell under (lat, lon) over ``days``: the coarse cell above it, the
    fine truth (NaN outside the fine record) and, if given, every generated member."""
    la, lo = nearest_cell(fine.isel(time=0), lat, lon)
    cla, clo = nearest_cell(coarse.isel(time=0), la, lo)
    out = xr.Dataset({"coarse": _on_days(coarse.sel(lat=cla, lon=clo), days),
                      "truth": _on_days(fine.sel(lat=la, lon=lo), days)})
    if generated is not None:
        out["members"] = _on_days(generated.sel(lat=la, lon=lo), days)
    return out.assign_attrs(lat=la, lon=lo)


def box_series(coarse: xr.DataArray, fine: xr.DataArray, box: Box, days: pd.DatetimeIndex,
               generated: xr.DataArray | None = None) -> xr.Dataset:
    """Area means over ``box`` (cells whose centres lie in it) over ``days``: coarse, fine
    truth and, if given, every generated member."""
    fine_cells = in_box(fine.isel(time=0), box)
    coarse_cells = in_box(coarse.isel(time=0), _widen(coarse, box))
    out = xr.Dataset({
        "coarse": _on_days(coarse.isel(coarse_cells).mean(("lat", "lon")), days),
        "truth": _on_days(fine.isel(fine_cells).mean(("lat", "lon")), days)})
    if generated is not None:
        out["members"] = _on_days(generated.isel(fine_cells).mean(("lat", "lon")), days)
    return out.assign_attrs(cells=int(fine_cells["lat"].size * fine_cells["lon"].size))


def _widen(coarse: xr.DataArray, box: Box) -> Box:
    """A box smaller than a coarse cell still has the coarse cell it lies in."""
    la, lo = coarse["lat"].values, coarse["lon"].values
    hy = abs(la[1] - la[0]) / 2 if la.size > 1 else 0.5
    hx = abs(lo[1] - lo[0]) / 2 if lo.size > 1 else 0.5
    cx, cy = 0.5 * (box[0] + box[1]), 0.5 * (box[2] + box[3])
    return (min(min(box[:2]), cx - hx), max(max(box[:2]), cx + hx),
            min(min(box[2:]), cy - hy), max(max(box[2:]), cy + hy))


def window(day: pd.Timestamp, half: int, allowed: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Up to ``half`` days either side of ``day``, kept inside ``allowed`` (e.g. the days
    of ``day``'s season in the coarse record): the days a probe generates."""
    days = pd.date_range(day - pd.Timedelta(days=half), day + pd.Timedelta(days=half))
    return days[days.isin(allowed)]
