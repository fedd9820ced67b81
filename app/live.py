"""Map figures built once per region and colour scale, then updated in place.

Each map is a plain Bokeh figure (image, coastlines, borders, a message) whose pixels come
from datashader: :func:`app.plots.raster` mean-aggregates the field onto at most one value
per screen pixel of the visible box, so a full-size grid costs the browser no more than a
screen's worth. Maps in a :class:`MapGroup` share their pan/zoom ranges; when the browser
reports a new view (Bokeh's ``RangesUpdate`` event, sent when a pan or zoom ends) every map
of the group is re-aggregated for it. A new day only replaces the image data, colour range,
title and message of the figures already on the page: no new figures for the browser to
build, and no HoloViews pipeline per redraw (that cost ~0.2 s per map on 2 cores).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import panel as pn
import xarray as xr
from bokeh.events import RangesUpdate
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    Grid,
    HoverTool,
    Label,
    LinearColorMapper,
    LogColorMapper,
    Range1d,
)
from bokeh.plotting import figure

from finescale.app.plots import (
    CMAP,
    DIFF_CMAP,
    MAP_HEIGHT,
    MAP_WIDTH,
    SPREAD_CMAP,
    View,
    difference,
    extent,
    lines_in,
    log10,
    palette,
    raster,
    shared_clim,
)

MESSAGE_FONT = "10pt"  # five short lines fit a map pane
COAST = {"line_color": "#3a7bd5", "line_width": 1.2}
BORDERS = {"line_color": "#9a9a9a", "line_width": 0.9, "line_dash": "dashed"}
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
MEMBER_SIZE = (200, 170)  # frame of one map in the member gallery (px)


@dataclass(frozen=True)
class Frame:
    """What one map shows: a field (NaN where nothing), its colour range, a title and a
    message written across the map (empty for none)."""

    field: xr.DataArray
    clim: tuple[float, float]
    title: str
    message: str = ""


class MapFigure:
    """One map figure; :meth:`show` and :meth:`render` change its data, never its models."""

    def __init__(self, name: str, first: Frame, group: MapGroup, log: bool, cmap: str = CMAP,
                 clabel: str = "", colorbar: bool = True,
                 size: tuple[int, int] = (MAP_WIDTH, MAP_HEIGHT), axes: bool = True) -> None:
        self.frame, self.size = first, size
        mapper_cls = LogColorMapper if log else LinearColorMapper
        self.mapper = mapper_cls(palette=palette(cmap), low=first.clim[0], high=first.clim[1],
                                 nan_color=(0, 0, 0, 0))
        fig = figure(x_range=group.x_range, y_range=group.y_range, frame_width=size[0],
                     frame_height=size[1], tools=TOOLS, active_scroll="wheel_zoom",
                     title=first.title, toolbar_location="above" if axes else None,
                     x_axis_label="lon" if axes else None, y_axis_label="lat" if axes else None)
        fig.center = [r for r in fig.center if not isinstance(r, Grid)]  # maps need none
        fig.toolbar.logo = None
        if not axes:
            fig.axis.visible = False
        self.source = ColumnDataSource(name=f"map-{name}")  # found by name in the browser
        img = fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source,
                        color_mapper=self.mapper)
        fig.add_tools(HoverTool(renderers=[img], tooltips=[
            ("lon", "$x{0.00}"), ("lat", "$y{0.00}"), (clabel, "@image{0.0000}")]))
        fig.line("x", "y", source=group.coast, **COAST)
        fig.line("x", "y", source=group.borders, **BORDERS)
        self.text = Label(x=0.0, y=0.0, text=first.message, text_align="center",
                          text_baseline="middle", text_font_size=MESSAGE_FONT)
        fig.add_layout(self.text)
        self.render(group.view())  # the pixels and the message's place
        if colorbar:
            fig.add_layout(ColorBar(color_mapper=self.mapper, title=clabel, width=12), "right")
        fig.on_event(RangesUpdate, group.zoomed)
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig)

    def render(self, view: View) -> None:
        """Re-aggregate the current field for the visible box ``view`` (the message stays
        in its middle)."""
        self.source.data = raster(self.frame.field, view, self.size)
        self.text.update(x=0.5 * (view[0] + view[1]), y=0.5 * (view[2] + view[3]))

    def show(self, frame: Frame, view: View) -> None:
        self.frame = frame
        self.render(view)
        self.mapper.update(low=frame.clim[0], high=frame.clim[1])
        self.figure.title.text = frame.title
        self.text.text = frame.message


class MapGroup:
    """Maps that pan and zoom together over one region's box."""

    def __init__(self, box: xr.DataArray) -> None:
        ext = extent(box)
        self.x_range, self.y_range = Range1d(*ext["xlim"]), Range1d(*ext["ylim"])
        # the lines around the region, one copy per group for the browser, shared by its maps
        lines = lines_in(ext["xlim"], ext["ylim"])
        self.coast, self.borders = (ColumnDataSource({"x": lines[k][:, 0], "y": lines[k][:, 1]})
                                    for k in ("coast", "borders"))
        self.maps: dict[str, MapFigure] = {}
        self._zoom: View | None = None  # the view of the last pan/zoom handled

    def add(self, name: str, first: Frame, log: bool, **style) -> MapFigure:
        self.maps[name] = MapFigure(name, first, self, log, **style)
        return self.maps[name]

    def view(self) -> View:
        """The visible box (lon0, lon1, lat0, lat1), as the browser last reported it."""
        return (self.x_range.start, self.x_range.end, self.y_range.start, self.y_range.end)

    def zoomed(self, event: RangesUpdate) -> None:
        """A pan or zoom ended in the browser: every map gets pixels for the new view.
        Bokeh reports it from each linked figure; the first report re-aggregates them all."""
        view = (event.x0, event.x1, event.y0, event.y1)
        if any(v is None for v in view) or view == self._zoom:
            return
        self._zoom = view
        with pn.io.hold():
            for m in self.maps.values():
                m.render(view)


def _blank(like: xr.DataArray) -> xr.DataArray:
    return xr.full_like(like, np.nan, dtype=np.float64)


class LiveMaps:
    """coarse | generated | G5NR truth over the difference map, for one region.

    The colour bar of the shared scale is drawn once, on the truth map (also when it only
    says that no G5NR field exists for the day).
    """

    def __init__(self, fields: dict[str, xr.DataArray | None], titles: dict[str, str],
                 clim: tuple[float, float], key: str, log: bool, scale: Callable = log10,
                 label: str = "log10 AOT", units_label: str = "dust AOT") -> None:
        self.key, self.log, self.scale, self.label = key, log, scale, label
        frames = self.frames(fields, titles, clim)
        self.group = g = MapGroup(fields["generated"])
        g.add("coarse", frames["coarse"], log, colorbar=False, clabel=units_label)
        g.add("generated", frames["generated"], log, colorbar=False, clabel=units_label)
        g.add("truth", frames["truth"], log, clabel=units_label)
        g.add("diff", frames["diff"], False, cmap=DIFF_CMAP, clabel=f"Δ {label}")
        m = self.maps = g.maps
        self.layout = pn.Column(pn.Row(m["coarse"].pane, m["generated"].pane, m["truth"].pane),
                                m["diff"].pane)

    def matches(self, key: str, log: bool) -> bool:
        """Whether these figures can show a region's maps on this colour scale."""
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
            out["diff"] = Frame(_blank(gen), (-0.1, 0.1), f"generated − truth ({self.label})",
                                "no fine field:\nno difference\nto show")
        else:
            d, dlim = difference(gen, truth, self.scale)
            out["truth"] = Frame(truth, clim, titles["truth"])
            out["diff"] = Frame(d, dlim, f"generated − truth ({self.label})")
        return out

    def show(self, fields: dict[str, xr.DataArray | None], titles: dict[str, str],
             clim: tuple[float, float]) -> None:
        view = self.group.view()
        for name, frame in self.frames(fields, titles, clim).items():
            self.maps[name].show(frame, view)


def ensemble_maps(spread: xr.DataArray | None, members: xr.DataArray,
                  clim: tuple[float, float], log: bool, max_members: int = 8,
                  variable: str = "AOT") -> list[MapFigure]:
    """The spread map (if any) and one small map per member on the maps' colour range, all
    panning together; the members' pixels come from the same aggregation as the maps'."""
    group = MapGroup(members.isel(member=0))
    out = []
    if spread is not None:
        out.append(group.add("spread", Frame(spread, shared_clim(spread, log=False),
                                             "ensemble spread (std)"),
                             False, cmap=SPREAD_CMAP, clabel=f"std of {variable}"))
    for m in members["member"].values[:max_members]:
        out.append(group.add(f"member {int(m)}", Frame(members.sel(member=m), clim,
                                                       f"member {int(m)}"),
                             log, colorbar=False, size=MEMBER_SIZE, axes=False,
                             clabel=variable))
    return out  # each figure's pan/zoom handler keeps the group alive
