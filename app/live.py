"""Map panes built once per region and colour scale, then updated in place.

Replacing a HoloViews pane's object makes Bokeh build new figures in the browser (seconds on
a 2-core machine for four maps). Here each map is a chain of DynamicMaps fed by one
:class:`holoviews.streams.Pipe`: sending a new :class:`Frame` changes only the image data,
colour range, title and message of the figures already on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import holoviews as hv
import holoviews.plotting.bokeh  # the panes are Bokeh figures: load the backend
import numpy as np
import panel as pn
import xarray as xr
from holoviews.operation.datashader import rasterize

from app.plots import (
    CMAP,
    DIFF_CMAP,
    MAP_HEIGHT,
    MAP_WIDTH,
    _image,
    axes,
    coast_borders,
    extent,
    log_difference,
)

MESSAGE_FONT = 10  # points: five short lines fit a map pane


@dataclass(frozen=True)
class Frame:
    """What one map pane shows: a field (NaN where nothing), its colour range, a title and a
    message written across the map (empty for none)."""

    field: xr.DataArray
    clim: tuple[float, float]
    title: str
    message: str = ""


class LiveMap:
    """One rasterized map with coastlines whose content comes from a stream."""

    def __init__(self, first: Frame, key: str, log: bool, cmap: str = CMAP,
                 clabel: str = "dust AOT", colorbar: bool = True,
                 frame: xr.DataArray | None = None) -> None:
        self.key = key
        self.pipe = hv.streams.Pipe(data=first)
        ext = extent(frame if frame is not None else first.field)
        cx, cy = 0.5 * sum(ext["xlim"]), 0.5 * sum(ext["ylim"])
        image = hv.DynamicMap(lambda data: _image(data.field, "aot", key), streams=[self.pipe])
        # precompute stays off: its cache is keyed by element id, which a new frame may reuse
        raster = rasterize(image, aggregator="mean").apply(
            lambda el, data: el.opts(clim=data.clim), streams=[self.pipe])
        raster = raster.opts(cmap=cmap, logz=log, colorbar=colorbar, clabel=clabel,
                             tools=["hover"], frame_width=MAP_WIDTH, frame_height=MAP_HEIGHT)
        text = hv.DynamicMap(lambda data: hv.Text(cx, cy, data.message, fontsize=MESSAGE_FONT,
                                                  kdims=axes(key)), streams=[self.pipe])
        overlay = (raster * coast_borders(key) * text).apply(
            lambda ov, data: ov.opts(title=data.title), streams=[self.pipe])
        self.pane = pn.pane.HoloViews(overlay.opts(**ext), linked_axes=True)

    def show(self, frame: Frame) -> None:
        self.pipe.send(frame)


def _blank(like: xr.DataArray) -> xr.DataArray:
    return xr.full_like(like, np.nan, dtype=np.float64)


class LiveMaps:
    """coarse | generated | G5NR truth over the difference map, for one region.

    The colour bar of the shared scale is drawn once, on the truth map (also when it only
    says that no G5NR field exists for the day).
    """

    def __init__(self, fields: dict[str, xr.DataArray | None], titles: dict[str, str],
                 clim: tuple[float, float], key: str, log: bool) -> None:
        self.key, self.log = key, log
        frames = self.frames(fields, titles, clim)
        gen = fields["generated"]
        self.maps = {
            "coarse": LiveMap(frames["coarse"], key, log, colorbar=False, frame=gen),
            "generated": LiveMap(frames["generated"], key, log, colorbar=False),
            "truth": LiveMap(frames["truth"], key, log, frame=gen),
            "diff": LiveMap(frames["diff"], key, False, cmap=DIFF_CMAP, clabel="Δ log10 AOT",
                            frame=gen),
        }
        m = self.maps
        self.layout = pn.Column(pn.Row(m["coarse"].pane, m["generated"].pane, m["truth"].pane),
                                m["diff"].pane)

    def matches(self, key: str, log: bool) -> bool:
        """Whether these panes can show a region's maps on this colour scale."""
        return (self.key, self.log) == (key, log)

    def frames(self, fields: dict[str, xr.DataArray | None], titles: dict[str, str],
               clim: tuple[float, float]) -> dict[str, Frame]:
        """``clim``: the shared colour range of coarse, generated and truth (``shared_clim``)."""
        gen, truth, coarse = fields["generated"], fields["truth"], fields["coarse"]
        out = {"coarse": Frame(coarse, clim, titles["coarse"]),
               "generated": Frame(gen, clim, titles["generated"])}
        if truth is None:
            out["truth"] = Frame(_blank(gen), clim, titles["truth"],
                                 titles.get("no_truth", "no G5NR field for this day"))
            out["diff"] = Frame(_blank(gen), (-0.1, 0.1), "log10 generated − log10 truth",
                                "no G5NR field:\nno difference\nto show")
        else:
            d, dlim = log_difference(gen, truth)
            out["truth"] = Frame(truth, clim, titles["truth"])
            out["diff"] = Frame(d, dlim, "log10 generated − log10 truth")
        return out

    def show(self, fields: dict[str, xr.DataArray | None], titles: dict[str, str],
             clim: tuple[float, float]) -> None:
        for name, frame in self.frames(fields, titles, clim).items():
            self.maps[name].show(frame)
