"""Pure plot functions: xarray/numpy in, HoloViews elements out (no state, no widgets).

Maps are ``hv.Image`` through datashader's ``rasterize`` (smooth pan/zoom on full grids),
overlaid with coastlines and borders shipped in ``assets/`` as two NaN-separated paths.
Image labels stay constant; changing text goes into ``title``.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import xarray as xr
from holoviews.operation.datashader import rasterize

from app.figures import (  # noqa: F401  (re-exported: the dashboard's one plotting import)
    CMAP,
    DIFF_CMAP,
    SPREAD_CMAP,
    _lines,
    extent,
    maps_png,
    shared_clim,
)
from data.diagnostics import acf, pacf, radial_spectrum, semivariogram
from data.scores import r2_pearson

MAP_WIDTH, MAP_HEIGHT = 225, 205  # frame size of one map pane (px)
PLOT_WIDTH, PLOT_HEIGHT = 520, 300  # line plots
PALETTE = {"coarse": "#7f7f7f", "truth": "#000000", "generated": "#d62728",
           "bilinear": "#1f77b4"}


def axes(key: str = "") -> list[hv.Dimension]:
    """lon/lat dimensions; panes with the same ``key`` share (link) their axes in Panel.

    Keying by region stops a new region's maps inheriting the previous region's ranges.
    """
    tag = f" ({key.strip('_')})" if key else ""
    return [hv.Dimension(f"lon{key}", label=f"lon{tag}"),
            hv.Dimension(f"lat{key}", label=f"lat{tag}")]


def coast_borders(key: str = "") -> hv.Overlay:
    """Coastlines and land borders as two single NaN-separated paths (fast to draw)."""
    lines = _lines()
    coast = hv.Path([lines["coast"]], kdims=axes(key)).opts(color="#3a7bd5", line_width=1.2)
    borders = hv.Path([lines["borders"]], kdims=axes(key)).opts(
        color="#9a9a9a", line_width=0.9, line_dash="dashed")
    return coast * borders


def _image(da: xr.DataArray, vdim: str, key: str = "") -> hv.Image:
    da = da.astype(np.float64).rename(lon=f"lon{key}", lat=f"lat{key}") if key else \
        da.astype(np.float64)
    return hv.Image(da, kdims=axes(key), vdims=[vdim], label="map")


def aot_map(da: xr.DataArray, title: str, clim: tuple[float, float], log: bool,
            frame: xr.DataArray | None = None, cmap: str = CMAP, clabel: str = "dust AOT",
            key: str = "", colorbar: bool = True) -> hv.Overlay:
    """A rasterized map with coastlines, framed to ``frame`` (default: ``da``)."""
    img = rasterize(_image(da, "aot", key), aggregator="mean", precompute=True)
    img = img.opts(title=title, cmap=cmap, logz=log, clim=clim, colorbar=colorbar,
                   clabel=clabel, tools=["hover"], frame_width=MAP_WIDTH, frame_height=MAP_HEIGHT)
    return (img * coast_borders(key)).opts(**extent(frame if frame is not None else da))


def log_difference(gen: xr.DataArray, truth: xr.DataArray
                   ) -> tuple[xr.DataArray, tuple[float, float]]:
    """log10(generated) − log10(truth) and a symmetric colour range (99th pct of |Δ|)."""
    d = np.log10(gen) - np.log10(truth)
    m = float(np.nanpercentile(np.abs(d.values), 99)) or 0.1
    return d, (-m, m)


def spread_map(std: xr.DataArray, key: str = "") -> hv.Overlay:
    return aot_map(std, "ensemble spread (std)", shared_clim(std, log=False), False,
                   cmap=SPREAD_CMAP, clabel="std of AOT", key=key)


def member_maps(members: xr.DataArray, clim: tuple[float, float], log: bool,
                max_members: int = 8) -> list[hv.DynamicMap]:
    """One small map per member on the shared colour range (for a gallery of panes: a
    Bokeh grid plot added to a page after load is not drawn by Panel 1.9 / Bokeh 3.9)."""
    return [rasterize(_image(members.sel(member=m), "aot"), precompute=True).opts(
        title=f"member {int(m)}", cmap=CMAP, logz=log, clim=clim, width=230, height=200,
        xaxis=None, yaxis=None, colorbar=False)
        for m in members["member"].values[:max_members]]


def variogram_plot(fields: dict[str, xr.DataArray | None], seed: int = 0) -> hv.Overlay:
    """Semivariograms of log10 AOT (≤ 600 km, 24 bins, 30 k sampled pairs) per field."""
    curves = []
    for name, da in fields.items():
        if da is None:
            continue
        h, g = semivariogram(np.log10(np.asarray(da.values, dtype=np.float64)),
                             da["lat"].values, da["lon"].values, seed=seed)
        curves.append(hv.Curve((h, g), "distance (km)", "semivariance (log10 AOT)²",
                               label=name).opts(color=PALETTE.get(name, None)))
    return hv.Overlay(curves).opts(title="semivariogram", width=PLOT_WIDTH, height=PLOT_HEIGHT,
                                   legend_position="bottom_right")


def spectrum_plot(fields: dict[str, xr.DataArray | None]) -> hv.Overlay:
    curves = []
    for name, da in fields.items():
        if da is None or da.shape[0] < 8:
            continue
        k, p = radial_spectrum(np.log10(np.asarray(da.values, dtype=np.float64)))
        step_km = abs(float(da["lat"][1] - da["lat"][0])) * 111.2
        ok = (np.arange(k.size) > 0) & np.isfinite(p) & (p > 0)  # bin 0 holds only the mean
        curves.append(hv.Curve((k[ok] / step_km, p[ok]), "wavenumber (1/km)", "power",
                               label=name).opts(color=PALETTE.get(name, None)))
    return hv.Overlay(curves).opts(title="radially averaged power spectrum", logx=True,
                                   logy=True, width=PLOT_WIDTH, height=PLOT_HEIGHT)


def scatter_density(gen: xr.DataArray, truth: xr.DataArray) -> hv.Element:
    """Density of generated vs truth (log10), rasterized, with R² (squared Pearson)."""
    x, y = np.log10(truth.values.ravel()), np.log10(gen.values.ravel())
    ok = np.isfinite(x) & np.isfinite(y)
    pts = hv.Points((x[ok], y[ok]), ["log10 truth", "log10 generated"])
    r2 = r2_pearson(y[ok], x[ok])
    lo, hi = float(min(x[ok].min(), y[ok].min())), float(max(x[ok].max(), y[ok].max()))
    line = hv.Curve(([lo, hi], [lo, hi])).opts(color="white", line_dash="dashed")
    img = rasterize(pts, precompute=True).opts(cmap="viridis", cnorm="log", colorbar=True,
                                               width=PLOT_WIDTH, height=PLOT_HEIGHT + 60)
    return (img * line).opts(title=f"generated vs truth: R² = {r2:.3f}")


def acf_plot(series: dict[str, np.ndarray], nlags: int = 30, partial: bool = False
             ) -> hv.Overlay:
    fn = pacf if partial else acf
    curves = [hv.Curve((np.arange(nlags + 1), fn(s, nlags)), "lag (days)",
                       "PACF" if partial else "ACF", label=name).opts(
                           color=PALETTE.get(name, None))
              for name, s in series.items() if s is not None and len(s) > nlags + 2]
    return hv.Overlay(curves).opts(title=("partial " if partial else "") +
                                   "autocorrelation of the area-mean log10 AOT",
                                   width=PLOT_WIDTH, height=PLOT_HEIGHT)


def lead_plot(lead: np.ndarray, rmse: np.ndarray, label: str) -> hv.Overlay:
    """RMSE of the roll-out's ensemble mean by lead day (days after the last true day)."""
    c = hv.Curve((lead, rmse), "lead (days)", "RMSE (log10 AOT)", label=label).opts(
        color=PALETTE["generated"])
    return (c * hv.Scatter(c).opts(color=PALETTE["generated"], size=6)).opts(
        title="roll-out skill by lead day", width=PLOT_WIDTH, height=PLOT_HEIGHT)


def loss_curve(losses: list[tuple[int, float]], val: list[tuple[int, float]]) -> hv.Overlay:
    tr = hv.Curve(losses or [(0, np.nan)], "step", "loss", label="train")
    va = hv.Scatter(val or [(0, np.nan)], "step", "loss", label="validation").opts(size=8)
    return (tr * va).opts(title="training loss", width=2 * PLOT_WIDTH, height=PLOT_HEIGHT,
                           logy=True)
