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
from bokeh.events import RangesUpdate, SelectionGeometry, Tap
from bokeh.models import (
    BoxSelectTool,
    ColorBar,
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
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
    SPREAD_CMAP,
    View,
    difference,
    extent,
    geo_aspect,
    lines_in,
    log10,
    palette,
    raster,
    shared_clim,
)

MESSAGE_FONT = "10pt"  # five short lines fit a map pane
# lines drawn twice, a dark halo under a light core, stay visible on every colour of the map;
# all four (halo and core of coastlines and borders, in drawing order) are one MultiLine of
# one renderer per map: four renderers per map cost the page ~16 models each
LINE_STYLES = (  # (which lines, colour, width, alpha, dash)
    ("coast", "#101010", 2.6, 0.6, []), ("borders", "#101010", 2.6, 0.6, []),
    ("coast", "#f2f2f2", 1.2, 1.0, []), ("borders", "#f2f2f2", 1.0, 1.0, [6, 3]))
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
MAP_WIDTH = 400  # px of a main map's frame at a 1,600-px window; the page scales it
DIFF_WIDTH = 330  # px of the difference map's frame (fixed: the probe's plots sit beside)
MEMBER_WIDTH = 260  # px of a member map's frame in the gallery
MAX_MEMBERS = 8  # member maps in the gallery
AXES = (52, 72)  # px around a frame: y axis, title + toolbar + x axis
COLORBAR = 64  # px a colour bar adds below (below, not beside: side-by-side maps that
# scale with the page then keep equal frames, with or without a bar)
DEGREES = {"lon": "return Math.abs(tick).toFixed(tick % 1 ? 1 : 0) + (tick < 0 ? '°W' : '°E')",
           "lat": "return Math.abs(tick).toFixed(tick % 1 ? 1 : 0) + (tick < 0 ? '°S' : '°N')"}


# Heights of a group's maps after a layout, set together: each height set alone makes the
# browser lay out and paint the whole page again (3 × ~0.2 s of a page load on 2 cores, in
# a Chrome profile). Run once, after the layout pass that changed the widths (a microtask:
# every figure's size is then current), all but the last set silently, so the page is laid
# out once more, not once per map.
KEEP_ASPECT = """
const key = "_finescale_aspect_" + figs[0].id;
if (window[key]) { return; }
window[key] = true;
queueMicrotask(() => {
  window[key] = false;
  const todo = [];
  figs.forEach((f, i) => {
    let h = null;
    try {  // a map not laid out yet (another tab) has no sizes: it is set when it is
      h = Math.round(f.inner_width / aspects[i] + f.outer_height - f.inner_height);
    } catch (e) { return; }
    if (f.inner_width > 0 && Math.abs(f.height - h) > 1) { todo.push([f, h]); }
  });
  todo.forEach(([f, h], i) => f.setv({height: h}, {silent: i < todo.length - 1}));
});
"""


def frame_size(box: xr.DataArray, width: int) -> tuple[int, int]:
    """A map frame ``width`` px wide with the region's geographic aspect."""
    return width, max(40, round(width / geo_aspect(box)))


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
                 clabel: str = "", colorbar: bool = True, width: int = MAP_WIDTH,
                 axes: bool = True, responsive: bool = True) -> None:
        size = frame_size(group.box, width)  # the shared view's box, not this field's grid
        self.frame, self.size = first, size
        mapper_cls = LogColorMapper if log else LinearColorMapper
        self.mapper = mapper_cls(palette=palette(cmap), low=first.clim[0], high=first.clim[1],
                                 nan_color=(0, 0, 0, 0))
        # a responsive figure stretches with the page's width and its height follows the
        # frame's width in the browser (KEEP_ASPECT), so the frame keeps the region's ground
        # shape at any width; scaling the whole figure would scale its axes too (−11 % at
        # a 1,300-px window, measured)
        extra = (AXES[1] if axes else 40) + (COLORBAR if colorbar else 0)
        fig = figure(x_range=group.x_range, y_range=group.y_range,
                     width=size[0] + (AXES[0] if axes else 10), height=size[1] + extra,
                     sizing_mode="stretch_width" if responsive else "fixed",
                     tools=TOOLS, active_scroll="wheel_zoom",
                     title=first.title, toolbar_location="above" if axes else None)
        fig.center = [r for r in fig.center if not isinstance(r, Grid)]  # maps need none
        group.keep_aspect(fig, size[0] / size[1])
        fig.toolbar.logo = None
        fig.xaxis.formatter = CustomJSTickFormatter(code=DEGREES["lon"])
        fig.yaxis.formatter = CustomJSTickFormatter(code=DEGREES["lat"])
        if not axes:
            fig.axis.visible = False
        self.source = ColumnDataSource(name=f"map-{name}")  # found by name in the browser
        fig.name = f"figure-{name}"
        img = fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source,
                        color_mapper=self.mapper)
        # three significant digits: a spread of 1.2e-4 is not "0.0001", an AOT of 2.5 not 2.5000
        fig.add_tools(HoverTool(renderers=[img], tooltips=[
            ("lon", "$x{0.00}"), ("lat", "$y{0.00}"), (clabel, "@image{%.3g}")],
            formatters={"@image": "printf"}))
        fig.multi_line("xs", "ys", source=group.lines, line_color="color", line_width="width",
                       line_alpha="alpha", line_dash="dash")
        self.text = Label(x=0.0, y=0.0, text=first.message, text_align="center",
                          text_baseline="middle", text_font_size=MESSAGE_FONT)
        fig.add_layout(self.text)
        self.render(group.view())  # the pixels and the message's place
        if colorbar:
            fig.add_layout(ColorBar(color_mapper=self.mapper, title=clabel, height=10,
                                    orientation="horizontal", title_standoff=4), "below")
        fig.on_event(RangesUpdate, group.zoomed)
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig, sizing_mode="stretch_width" if responsive else "fixed")

    def on_probe(self, point: Callable[[float, float], None],
                 box: Callable[[tuple[float, float, float, float]], None]) -> None:
        """Report a click as ``point(lon, lat)`` and a dragged box (box-select tool) as
        ``box((lon0, lon1, lat0, lat1))``."""
        tool = BoxSelectTool(dimensions="both", description="Probe a box")
        self.figure.add_tools(tool)
        self.figure.on_event(Tap, lambda e: point(e.x, e.y))

        def selected(e: SelectionGeometry) -> None:
            g = e.geometry
            if e.final and g.get("type") == "rect":
                box((g["x0"], g["x1"], g["y0"], g["y1"]))

        self.figure.on_event(SelectionGeometry, selected)

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
        self.box = box
        ext = extent(box)
        self.x_range, self.y_range = Range1d(*ext["xlim"]), Range1d(*ext["ylim"])
        # the lines around the region, one copy per group for the browser, shared by its maps
        lines = lines_in(ext["xlim"], ext["ylim"])
        self.lines = ColumnDataSource({
            "xs": [lines[k][:, 0].astype(np.float32) for k, *_ in LINE_STYLES],  # 1 m, half
            "ys": [lines[k][:, 1].astype(np.float32) for k, *_ in LINE_STYLES],  # the bytes
            **{name: [style[i] for style in LINE_STYLES]
               for i, name in enumerate(("color", "width", "alpha", "dash"), start=1)}})
        self.maps: dict[str, MapFigure] = {}
        self._zoom: View | None = None  # the view of the last pan/zoom handled
        self._aspect = CustomJS(args={"figs": [], "aspects": []}, code=KEEP_ASPECT)

    def keep_aspect(self, fig, aspect: float) -> None:
        """Keep ``fig``'s frame at ``aspect`` (width / height) whatever width the page gives
        it, with one callback for all the group's maps (KEEP_ASPECT)."""
        args = self._aspect.args
        self._aspect.args = {"figs": [*args["figs"], fig], "aspects": [*args["aspects"], aspect]}
        fig.js_on_change("inner_width", self._aspect)

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
                 clim: tuple[float, float], log: bool, scale: Callable = log10,
                 label: str = "log10 AOT", units_label: str = "dust AOT") -> None:
        self.scale, self.label = scale, label
        frames = self.frames(fields, titles, clim)
        self.group = g = MapGroup(fields["generated"])
        g.add("coarse", frames["coarse"], log, colorbar=False, clabel=units_label)
        g.add("generated", frames["generated"], log, colorbar=False, clabel=units_label)
        g.add("truth", frames["truth"], log, clabel=units_label)
        g.add("diff", frames["diff"], False, cmap=DIFF_CMAP, clabel=f"Δ {label}",
              width=DIFF_WIDTH, responsive=False)
        m = self.maps = g.maps
        self.top = pn.Row(m["coarse"].pane, m["generated"].pane, m["truth"].pane,
                          sizing_mode="stretch_width")
        self.diff = m["diff"].pane  # placed by the dashboard's tab beside the probe

    @property
    def layout(self) -> pn.Column:
        """All four maps in one layout (the dashboard places ``top`` and ``diff`` itself)."""
        return pn.Column(self.top, self.diff, sizing_mode="stretch_width")

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


class EnsembleMaps:
    """The spread map (if any) over one small map per member on the maps' colour range, all
    panning together; updated in place like :class:`LiveMaps` (the Ensemble tab keeps one
    per region, colour scale and ensemble shape, :func:`ensemble_shape`)."""

    def __init__(self, spread: xr.DataArray | None, members: xr.DataArray,
                 clim: tuple[float, float], log: bool, variable: str = "AOT") -> None:
        self.group = g = MapGroup(members.isel(member=0))
        frames = self.frames(spread, members, clim)
        if "spread" in frames:
            g.add("spread", frames.pop("spread"), False, cmap=SPREAD_CMAP,
                  clabel=f"std of {variable}")
        for name, frame in frames.items():
            g.add(name, frame, log, colorbar=False, width=MEMBER_WIDTH, axes=False,
                  clabel=variable)
        self.spread = g.maps.get("spread")
        self.members = [m for name, m in g.maps.items() if name != "spread"]
        self.top = (pn.pane.Markdown("Spread needs ≥ 2 members.") if self.spread is None
                    else pn.Row(self.spread.pane, pn.Spacer(), sizing_mode="stretch_width"))
        self.gallery = pn.GridBox(*[m.pane for m in self.members], ncols=4,
                                  sizing_mode="stretch_width")

    @staticmethod
    def frames(spread: xr.DataArray | None, members: xr.DataArray,
               clim: tuple[float, float]) -> dict[str, Frame]:
        out = {}
        if spread is not None:
            out["spread"] = Frame(spread, shared_clim(spread, log=False),
                                  "ensemble spread (std)")
        for k, m in enumerate(members["member"].values[:MAX_MEMBERS]):
            out[f"member {k}"] = Frame(members.sel(member=m), clim, f"member {int(m)}")
        return out

    def show(self, spread: xr.DataArray | None, members: xr.DataArray,
             clim: tuple[float, float]) -> None:
        view = self.group.view()
        for name, frame in self.frames(spread, members, clim).items():
            self.group.maps[name].show(frame, view)


def ensemble_shape(spread: xr.DataArray | None, members: xr.DataArray) -> tuple[bool, int]:
    """What decides an ensemble gallery's figures: a spread map or not, and how many
    member maps."""
    return spread is not None, min(members.sizes["member"], MAX_MEMBERS)
