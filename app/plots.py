"""Pure plot functions: xarray in, HoloViews elements out (no state, no widgets)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import holoviews as hv
import numpy as np
import xarray as xr

LINES_FILE = Path(__file__).resolve().parents[1] / "assets" / "static" / "coast_borders.npz"
CMAP = "inferno"


@cache
def _lines() -> dict[str, np.ndarray]:
    with np.load(LINES_FILE, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def coast_borders() -> hv.Overlay:
    """Coastlines and land borders as two single NaN-separated paths (fast to draw)."""
    lines = _lines()
    coast = hv.Path([lines["coast"]], kdims=["lon", "lat"]).opts(color="#3a7bd5", line_width=1.2)
    borders = hv.Path([lines["borders"]], kdims=["lon", "lat"]).opts(
        color="#9a9a9a", line_width=0.9, line_dash="dashed")
    return coast * borders


def aot_image(da: xr.DataArray, title: str, clim: tuple[float, float], log: bool = True
              ) -> hv.Image:
    """One AOT map on its own grid; the label stays constant so overlays keep their order."""
    img = hv.Image(da.astype(np.float64), kdims=["lon", "lat"], vdims=[hv.Dimension(
        "aot", label="dust AOT 550 nm")], label="AOT")
    return img.opts(title=title, cmap=CMAP, logz=log, clim=clim, colorbar=True,
                    tools=["hover"], aspect="equal", responsive=True, min_height=320)


def extent(da: xr.DataArray) -> dict[str, tuple[float, float]]:
    """Plot limits covering the grid cells of ``da`` (so lines never widen the view)."""
    lat, lon = da["lat"].values, da["lon"].values
    hy = abs(lat[1] - lat[0]) / 2 if lat.size > 1 else 0.5
    hx = abs(lon[1] - lon[0]) / 2 if lon.size > 1 else 0.5
    return {"xlim": (float(lon.min() - hx), float(lon.max() + hx)),
            "ylim": (float(lat.min() - hy), float(lat.max() + hy))}


def shared_clim(*arrays: xr.DataArray, log: bool = True) -> tuple[float, float]:
    """One colour range for all panes: 1st–99.5th percentile of the values shown."""
    vals = np.concatenate([np.asarray(a).ravel() for a in arrays])
    vals = vals[np.isfinite(vals) & ((vals > 0) if log else True)]
    lo, hi = np.percentile(vals, [1, 99.5])
    return float(lo), float(max(hi, lo * 1.01))
