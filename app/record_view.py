"""Browse a reconstruction store (``finescale serve --record STORE``): any day's maps at
once, a clicked point's series, a season's climatology and anomalies — read lazily from
the zarr store, never loaded whole."""

from __future__ import annotations

from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from finescale.app.figures import CMAP, DIFF_CMAP, extent, lines_in, log_ticks
from finescale.app.page_assets import OfflineFast
from finescale.app.record_evidence_view import evidence_sections
from finescale.data import record
from finescale.data.errors import FinescaleError
from finescale.data.evaluation import mean_field
from finescale.data.seasons import season_of
from finescale.data.transforms import analysis, analysis_label

MAP_WIDTH = 290  # px of each map's frame (three fit beside the sidebar at 1,600 px); the
# height follows the region's geographic aspect
SPANS = {"90 days": 45, "1 year": 183, "whole record": None}


class RecordBrowser(pn.viewable.Viewer):
    day = param.CalendarDate(doc="the day shown")
    member = param.Selector(default="mean", objects=["mean"])
    view = param.Selector(default="day", objects=["day", "climatology", "anomaly"])
    span = param.Selector(default="1 year", objects=list(SPANS))
    point = param.NumericTuple(default=(0.0, 0.0), length=2, doc="(lat, lon) of the series")

    def __init__(self, path: Path, evidence: Path | None = None,
                 reports: list[Path] | None = None, **params):
        self.rec = record.open_record(path)
        s = record.settings_of(self.rec)
        self.sections = evidence_sections(evidence, reports, s)  # below the maps and series
        self.var, self.transform = s["variable"], s["transform"]
        self.label = analysis_label(self.transform, self.var, self.rec[self.var].attrs.get("units"))
        self.days = pd.DatetimeIndex(self.rec["time"].values)
        lat, lon = self.rec["lat"].values, self.rec["lon"].values
        super().__init__(**params)
        self.param.day.bounds = (self.days[0].date(), self.days[-1].date())
        self.param.member.objects = ["mean", *map(str, self.rec["member"].values)]
        self.day = self.day or self.days[0].date()
        if self.point == (0.0, 0.0):
            self.point = (float(lat[lat.size // 2]), float(lon[lon.size // 2]))
        aspect = np.ptp(lon) * np.cos(np.radians(lat.mean())) / np.ptp(lat)
        self.size = (MAP_WIDTH, round(float(MAP_WIDTH / aspect)))
        self.ext = extent(self.rec[self.var].isel(member=0, time=0))
        self.lines = hv.Path([xy for xy in lines_in(self.ext["xlim"], self.ext["ylim"]).values()
                              ]).opts(color="white", line_width=0.8)
        self.message = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._clims: dict = {}

    # --- data ---------------------------------------------------------------------------
    def _fields(self) -> dict[str, object]:
        t = pd.Timestamp(self.day)
        g = self.rec[self.var].sel(time=t)
        gen = mean_field(g, self.transform) if self.member == "mean" else \
            g.sel(member=int(self.member))
        truth = self.rec[f"{self.var}_truth"].sel(time=t).load()
        coarse = self.rec[f"{self.var}_coarse"].sel(time=t).rename(
            lat_coarse="lat", lon_coarse="lon")
        return {"coarse": coarse.load(), self._gen_title(): gen.load(),
                "G5NR truth": truth if bool(np.isfinite(truth).any()) else None}

    def _gen_title(self) -> str:
        return "ensemble mean" if self.member == "mean" else f"member {self.member}"

    def climatology(self, season: str):
        """A season's climatology, computed once per browser (it reads a quarter of the
        record)."""
        if season not in self._clims:
            self._clims[season] = record.season_climatology(self.rec, season)
        return self._clims[season]

    # --- views --------------------------------------------------------------------------
    def _image(self, da, title: str, clim=None, cmap: str = CMAP, label: str | None = None,
               colorbar: bool = True):
        z = analysis(self.transform, np.asarray(da.values, dtype=np.float64)) if label is None \
            else np.asarray(da.values)
        img = hv.Image((da["lon"].values, da["lat"].values, z), ["lon", "lat"],
                       label or self.label).opts(
            cmap=cmap, colorbar=colorbar, clim=clim or (np.nanmin(z), np.nanmax(z)),
            frame_width=self.size[0], frame_height=self.size[1], title=title,
            xlabel="longitude (°E)", ylabel="latitude (°N)", tools=["hover", "tap"],
            toolbar="above",
            xlim=self.ext["xlim"], ylim=self.ext["ylim"])
        mark = hv.Points([self.point[::-1]]).opts(color="cyan", size=9, marker="x")
        return img * self.lines * mark

    @param.depends("day", "member", "view", "point")
    def maps(self):
        try:
            return self._maps()
        except FinescaleError as err:
            return pn.pane.Alert(str(err), alert_type="warning")

    def _maps(self):
        t = pd.Timestamp(self.day)
        if self.view != "day":
            season = season_of([t])[0]
            clim = self.climatology(season)
            if self.view == "climatology":
                return pn.Column(
                    f"**{season} climatology** of the ensemble mean, {clim.attrs['days']} "
                    "days of the record",
                    self._tappable(self._image(clim, f"{season} climatology")))
            mean = self.rec[self.var].sel(time=t).mean("member").load()
            anom = analysis(self.transform, mean) - analysis(self.transform, clim)
            m = float(np.nanpercentile(np.abs(anom.values), 99)) or 0.1
            return pn.Column(
                f"**anomaly {t:%Y-%m-%d} vs {season} climatology** (ensemble mean − "
                f"climatology, {self.label})",
                self._tappable(self._image(anom, f"anomaly {t:%Y-%m-%d}", (-m, m), DIFF_CMAP,
                                           f"anomaly ({self.label})")))
        fields = self._fields()
        shown = [v for v in fields.values() if v is not None]
        z = np.concatenate([analysis(self.transform, np.asarray(v.values, float)).ravel()
                            for v in shown])
        clim = tuple(np.nanpercentile(z, [1, 99]))
        last = [k for k, v in fields.items() if v is not None][-1]  # one shared colour bar
        panes = [self._tappable(self._image(v, f"{k} {t:%Y-%m-%d}", clim,
                                            colorbar=k == last)) if v is not None
                 else pn.pane.Markdown(f"**{k}**: none on this day", width=200)
                 for k, v in fields.items()]
        return pn.Column(f"**{t:%Y-%m-%d}** ({season_of([t])[0]}): coarse input, "
                         f"{self._gen_title()}, G5NR truth", pn.Row(*panes))

    def _tappable(self, overlay):
        hv.streams.Tap(source=overlay, x=None, y=None).add_subscriber(self._tapped)
        return pn.pane.HoloViews(overlay, linked_axes=False)

    def _tapped(self, x=None, y=None) -> None:
        if x is None or y is None:
            return
        try:
            self.point = record.nearest_point(self.rec, y, x)
        except FinescaleError as err:  # a click beside the map: say so, keep the old point
            self.message.object = f"⚠ {err}"

    @param.depends("point", "day", "span")
    def series(self):
        t = pd.Timestamp(self.day)
        half = SPANS[self.span]
        lo = None if half is None else t - pd.Timedelta(days=half)
        hi = None if half is None else t + pd.Timedelta(days=half)
        s = record.point_series(self.rec, *self.point, lo, hi)
        time = pd.DatetimeIndex(s["time"].values)
        units = f" [{s.attrs['units']}]" if s.attrs["units"] not in ("", "1") else ""
        ylab = f"{self.var}{units}"
        band = hv.Area((time, s["low"].values, s["high"].values), "time", [ylab, "high"],
                       label="members (min–max)").opts(alpha=0.3, color="#d62728")
        curves = [band,
                  hv.Curve((time, s["mean"].values), "time", ylab, label="ensemble mean")
                  .opts(color="#d62728"),
                  hv.Curve((time, s["coarse"].values), "time", ylab, label="coarse input")
                  .opts(color="#7f7f7f"),
                  hv.VLine(t).opts(color="black", line_dash="dotted")]
        if bool(np.isfinite(s["truth"].values).any()):
            curves.insert(3, hv.Curve((time, s["truth"].values), "time", ylab,
                                      label="G5NR truth").opts(color="black"))
        self.message.object = (f"Series at **{s.attrs['lat']:.3f}°N, {s.attrs['lon']:.3f}°E**"
                               f" — {time.size} days, {s.sizes['member']} members")
        log = self.transform == "log"
        # a point's series often spans about a decade, where Bokeh's log ticker labels one
        # tick or crowds them at the top
        ticks = log_ticks(np.concatenate([s[k].values.ravel() for k in
                                          ("low", "high", "coarse", "truth")])) if log else None
        ticks = {"yticks": ticks, "yformatter": "%g"} if ticks else {}
        return hv.Overlay(curves).opts(width=3 * MAP_WIDTH, height=300, logy=log,
                                       legend_position="right", **ticks,
                                       title="point series (click a map to move the point)")

    def __panel__(self):
        w = pn.Param(self.param, parameters=["day", "member", "view", "span"],
                     widgets={"day": pn.widgets.DatePicker}, show_name=False)
        info = pn.pane.Markdown(f"**record** {self.var}, {self.days[0]:%Y-%m-%d} .. "
                                f"{self.days[-1]:%Y-%m-%d}, {self.rec.sizes['member']} members")
        return pn.template.FastListTemplate(
            title="finescale — reconstruction record", sidebar=[info, w],
            main=[pn.Column(self.maps, self.message, self.series, *self.sections)],
            theme_toggle=False,
            design=OfflineFast)

