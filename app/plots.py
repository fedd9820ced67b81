"""Pure plot functions: xarray/numpy in, HoloViews elements out (no state, no widgets).

Maps are drawn by :mod:`app.live` (plain Bokeh figures); :func:`raster` gives them their
pixels through datashader, so panning stays smooth on full-size grids.
"""

from __future__ import annotations

from collections.abc import Callable

import datashader as ds
import holoviews as hv
import numpy as np
import xarray as xr
from holoviews.operation.datashader import rasterize

from finescale.app.figures import (  # noqa: F401  (re-exported: the dashboard's one plotting import)
    CMAP,
    DIFF_CMAP,
    SPREAD_CMAP,
    _lines,
    extent,
    geo_aspect,
    lines_in,
    log_ticks,
    maps_png,
    palette,
    shared_clim,
)
from finescale.data.diagnostics import (
    acf,
    grid_step_km,
    pacf,
    radial_spectrum,
    semivariogram,
)
from finescale.data.scores import r2_pearson
from finescale.data.transforms import analysis

PLOT_WIDTH, PLOT_HEIGHT = 520, 300  # line plots
View = tuple[float, float, float, float]  # visible box: lon0, lon1, lat0, lat1
# one colour per series in every plot: a model keeps its colour from figure to figure
PALETTE = {"coarse": "#7f7f7f", "truth": "#000000", "generated": "#d62728",
           "bilinear": "#1f77b4", "diffusion": "#d62728", "distilled": "#ff9896",
           "ablation": "#ff7f0e", "unet": "#2ca02c", "transfer": "#17becf", "vae": "#9467bd",
           "interp-bilinear": "#1f77b4", "interp-bicubic": "#8c564b",
           "interp-nearest": "#bcbd22"}


def raster(da: xr.DataArray, view: View, size: tuple[int, int]) -> dict[str, list]:
    """Image-glyph data of ``da`` in the box ``view`` = (lon0, lon1, lat0, lat1): the mean of
    the cells under each screen pixel (datashader), on at most ``size`` = (width, height)
    pixels and never more than the grid cells in view (a zoomed-in view gets the cells
    themselves, not upsampled copies)."""
    x0, x1, y0, y1 = (float(v) for v in view)
    lat, lon = da["lat"].values, da["lon"].values
    dx = abs(lon[1] - lon[0]) if lon.size > 1 else x1 - x0
    dy = abs(lat[1] - lat[0]) if lat.size > 1 else y1 - y0
    w = int(max(1, min(size[0], np.ceil(round(abs(x1 - x0) / dx, 6)))))
    h = int(max(1, min(size[1], np.ceil(round(abs(y1 - y0) / dy, 6)))))
    cvs = ds.Canvas(plot_width=w, plot_height=h, x_range=(x0, x1), y_range=(y0, y1))
    img = cvs.raster(da.astype(np.float64).transpose("lat", "lon"), downsample_method="mean",
                     upsample_method="nearest")
    # float32 halves what each page receives (~0.37 → 0.18 MB per map); colours need no more
    return {"image": [img.values.astype(np.float32)], "x": [x0], "y": [y0], "dw": [x1 - x0],
            "dh": [y1 - y0]}


def log10(x):
    """The analysis scale of log-transformed data (the default of these plots)."""
    return analysis("log", x)


def difference(gen: xr.DataArray, truth: xr.DataArray, scale: Callable = log10
               ) -> tuple[xr.DataArray, tuple[float, float]]:
    """generated − truth on the analysis scale (log10 for log-transformed data) and a
    symmetric colour range (99th percentile of |Δ|)."""
    d = scale(gen) - scale(truth)
    m = float(np.nanpercentile(np.abs(d.values), 99)) or 0.1
    return d, (-m, m)


def variogram_plot(fields: dict[str, xr.DataArray | None], seed: int = 0,
                   scale: Callable = log10, label: str = "log10 AOT") -> hv.Overlay:
    """Semivariograms on the analysis scale (≤ 600 km, 24 bins, 30 k sampled pairs)."""
    curves = []
    for name, da in fields.items():
        if da is None:
            continue
        h, g = semivariogram(scale(np.asarray(da.values, dtype=np.float64)),
                             da["lat"].values, da["lon"].values, seed=seed)
        curves.append(hv.Curve((h, g), "distance (km)", f"semivariance ({label})²",
                               label=name).opts(color=PALETTE.get(name, None)))
    # a semivariogram rises with distance: its top left is where no curve runs
    return hv.Overlay(curves).opts(title="semivariogram", width=PLOT_WIDTH, height=PLOT_HEIGHT,
                                   legend_position="top_left")


def spectrum_plot(fields: dict[str, xr.DataArray | None], scale: Callable = log10
                  ) -> hv.Overlay:
    curves = []
    for name, da in fields.items():
        if da is None or da.shape[0] < 8:
            continue
        k, p = radial_spectrum(scale(np.asarray(da.values, dtype=np.float64)))
        step_km = grid_step_km(da["lat"].values)
        ok = (np.arange(k.size) > 0) & np.isfinite(p) & (p > 0)  # bin 0 holds only the mean
        curves.append(hv.Curve((k[ok] / step_km, p[ok]), "wavenumber (1/km)", "power",
                               label=name).opts(color=PALETTE.get(name, None)))
    return hv.Overlay(curves).opts(title="radially averaged power spectrum", logx=True,
                                   logy=True, width=PLOT_WIDTH, height=PLOT_HEIGHT,
                                   legend_position="bottom_left",  # power falls with k
                                   xticks=log_ticks(np.concatenate(
                                       [c.dimension_values(0) for c in curves] or [[]])))


def scatter_density(gen: xr.DataArray, truth: xr.DataArray, scale: Callable = log10,
                    label: str = "log10 AOT") -> hv.Element:
    """Density of generated vs truth (analysis scale), rasterized, with R² (Pearson²)."""
    x, y = scale(truth.values.ravel()), scale(gen.values.ravel())
    ok = np.isfinite(x) & np.isfinite(y)
    pts = hv.Points((x[ok], y[ok]), [f"truth ({label})", f"generated ({label})"])
    r2 = r2_pearson(y[ok], x[ok])
    lo, hi = float(min(x[ok].min(), y[ok].min())), float(max(x[ok].max(), y[ok].max()))
    line = hv.Curve(([lo, hi], [lo, hi])).opts(color="white", line_dash="dashed")
    # rasterized here, once, at the plot's size: a dynamic operation (re-rasterized on zoom)
    # is a DynamicMap, which cannot sit inside the DynamicMap that updates it in place
    img = rasterize(pts, dynamic=False, width=PLOT_WIDTH, height=PLOT_HEIGHT).opts(
        cmap="viridis", cnorm="log", colorbar=True, width=PLOT_WIDTH, height=PLOT_HEIGHT + 60)
    return (img * line).opts(title=f"generated vs truth: R² = {r2:.3f}")


def acf_plot(series: dict[str, np.ndarray], nlags: int = 30, partial: bool = False,
             label: str = "log10 AOT") -> hv.Overlay:
    fn = pacf if partial else acf
    curves = [hv.Curve((np.arange(nlags + 1), fn(s, nlags)), "lag (days)",
                       "PACF" if partial else "ACF", label=name).opts(
                           color=PALETTE.get(name, None))
              for name, s in series.items() if s is not None and len(s) > nlags + 2]
    return hv.Overlay(curves).opts(title=("partial " if partial else "") +
                                   f"autocorrelation of the area-mean {label}",
                                   width=PLOT_WIDTH, height=PLOT_HEIGHT)


def lead_plot(lead: np.ndarray, rmse: np.ndarray, label: str, scale_label: str = "log10 AOT"
              ) -> hv.Overlay:
    """RMSE of the roll-out's ensemble mean by lead day (days after the last true day)."""
    c = hv.Curve((lead, rmse), "lead (days)", f"RMSE ({scale_label})", label=label).opts(
        color=PALETTE["generated"])
    return (c * hv.Scatter(c).opts(color=PALETTE["generated"], size=6)).opts(
        title="roll-out skill by lead day", width=PLOT_WIDTH, height=PLOT_HEIGHT)


def loss_curve(losses: list[tuple[int, float]], val: list[tuple[int, float]]) -> hv.Overlay:
    # framewise: the axes follow each new frame of the Train tab's stream
    tr = hv.Curve(losses or [(0, np.nan)], "step", "loss", label="train").opts(framewise=True)
    va = hv.Scatter(val or [(0, np.nan)], "step", "loss", label="validation").opts(
        size=8, framewise=True)
    return (tr * va).opts(title="training loss", width=2 * PLOT_WIDTH, height=PLOT_HEIGHT,
                          logy=True)
