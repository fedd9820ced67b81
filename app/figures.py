"""Static figures and the pieces the interactive plots share (matplotlib and numpy only).

Kept apart from :mod:`app.plots` so that writing a report or a PNG needs no HoloViews or
Bokeh: ``finescale evaluate`` runs on GPU machines that have only the model stack.
"""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import xarray as xr

from finescale.data.resources import asset

LINES_FILE = asset("static", "coast_borders.npz")
CMAP = "inferno"
DIFF_CMAP = "RdBu_r"
SPREAD_CMAP = "viridis"


def log_ticks(x) -> list[float] | None:
    """1-2-5 ticks over the positive values ``x`` for a log axis spanning about a decade,
    where Bokeh's own log ticker labels every minor step and the labels run into each other;
    None (Bokeh's ticks) where fewer than two fall in the range."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        return None
    lo, hi = x.min(), x.max()
    decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    ticks = [m * 10.0**e for e in decades for m in (1, 2, 5) if lo <= m * 10.0**e <= hi]
    return ticks if len(ticks) >= 2 else None


@cache
def _lines() -> dict[str, np.ndarray]:
    with np.load(LINES_FILE, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


LINES_MARGIN = 5.0  # degrees of lines kept around a map (room to pan)


def lines_in(xlim: tuple[float, float], ylim: tuple[float, float],
             margin: float = LINES_MARGIN) -> dict[str, np.ndarray]:
    """The global coastlines and borders around a box, still NaN-separated: a map then
    sends the browser its own region's lines, not the whole Earth's (~0.7 MB)."""
    out = {}
    for key, xy in _lines().items():
        keep = ((xy[:, 0] >= xlim[0] - margin) & (xy[:, 0] <= xlim[1] + margin)
                & (xy[:, 1] >= ylim[0] - margin) & (xy[:, 1] <= ylim[1] + margin))
        cut = np.where(keep[:, None], xy, np.nan)
        gap = np.isnan(cut[:, 0])
        # one NaN between pieces: drop a NaN that follows another
        out[key] = cut[~(gap & np.concatenate([[True], gap[:-1]]))]
    return out


@cache
def palette(name: str, n: int = 256) -> tuple[str, ...]:
    """A matplotlib colour map as ``n`` hex colours: the dashboard's Bokeh maps and the
    exported PNG then use the very same colours."""
    import matplotlib
    from matplotlib.colors import to_hex

    return tuple(to_hex(c) for c in matplotlib.colormaps[name](np.linspace(0.0, 1.0, n)))


def extent(da: xr.DataArray) -> dict[str, tuple[float, float]]:
    """Plot limits covering the grid cells of ``da`` (so lines never widen the view)."""
    lat, lon = da["lat"].values, da["lon"].values
    hy = abs(lat[1] - lat[0]) / 2 if lat.size > 1 else 0.5
    hx = abs(lon[1] - lon[0]) / 2 if lon.size > 1 else 0.5
    return {"xlim": (float(lon.min() - hx), float(lon.max() + hx)),
            "ylim": (float(lat.min() - hy), float(lat.max() + hy))}


def geo_aspect(da: xr.DataArray) -> float:
    """Width / height of the region on the ground (cos-latitude at its middle): a map frame
    of this aspect shows it unsqueezed at any latitude."""
    ext = extent(da)
    (x0, x1), (y0, y1) = ext["xlim"], ext["ylim"]
    return float((x1 - x0) * np.cos(np.radians(0.5 * (y0 + y1))) / (y1 - y0))


def shared_clim(*arrays: xr.DataArray | None, log: bool = True) -> tuple[float, float]:
    """One colour range for all panes: 1st–99.5th percentile of the values shown."""
    vals = np.concatenate([np.asarray(a).ravel() for a in arrays if a is not None])
    vals = vals[np.isfinite(vals) & ((vals > 0) if log else True)]
    if vals.size == 0:
        return (1e-3, 1.0)
    lo, hi = np.percentile(vals, [1, 99.5])
    return float(lo), float(max(hi, lo * 1.01))


def maps_png(fields: dict[str, xr.DataArray | None], title: str, log: bool,
             label: str = "dust AOT 550 nm") -> bytes:
    """A static PNG of coarse | generated | truth (| spread) for export (matplotlib, offline).

    The value panes share one colour scale; a ``spread`` pane gets its own.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    names = [n for n in ("coarse", "generated", "truth", "spread") if fields.get(n) is not None]
    values = [n for n in names if n != "spread"]
    clim = shared_clim(*[fields[n] for n in values], log=log)
    norm = mcolors.LogNorm(*clim) if log else mcolors.Normalize(*clim)
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.2), squeeze=False,
                             layout="constrained")
    frame = extent(fields["generated"])
    lines = lines_in(frame["xlim"], frame["ylim"])
    for ax, n in zip(axes[0], names, strict=True):
        da = fields[n]
        spread = n == "spread"
        m = ax.pcolormesh(da["lon"], da["lat"], da.values, cmap=SPREAD_CMAP if spread else CMAP,
                          norm=mcolors.Normalize(0, float(np.nanpercentile(da.values, 99.5)))
                          if spread else norm, shading="nearest")
        ax.plot(*lines["coast"].T, color="#3a7bd5", lw=0.8)
        ax.plot(*lines["borders"].T, color="#9a9a9a", lw=0.6, ls="--")
        ax.set(xlim=frame["xlim"], ylim=frame["ylim"], title=n, aspect="equal")
        if spread:
            fig.colorbar(m, ax=ax, label="ensemble std", shrink=0.85)
        else:
            vm = m
    fig.colorbar(vm, ax=[axes[0][names.index(n)] for n in values],
                 label=label, shrink=0.85)
    fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
