"""Probe the maps: a click gives the point's series around the day (coarse, every member,
the ensemble band, truth) and the members' spread there; a dragged box gives its
area-mean series and its scores for the day."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from finescale.app.jobview import JobView, notify
from finescale.app.plots import PALETTE, PLOT_HEIGHT
from finescale.app.service import metrics_for
from finescale.app.tabs.base import DayView
from finescale.data import probe
from finescale.data.errors import FinescaleError
from finescale.data.seasons import in_season, season_of

HALF = 3  # days either side of the day that a probe generates
CONTEXT = 15  # days either side shown for coarse and truth
SERIES_WIDTH = 520  # px: the probe's plots fit beside the difference map at 1,500 px


class ProbePanel(DayView):
    """Below the maps: what the last click or box found (the Maps tab sets ``shown``)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.where: tuple[str, object] | None = None  # ("point", (lat, lon)) or ("box", box)
        self.window = None  # the generated days around the day, for the probe's series
        self.job = JobView(on_result=self._generated, cancel_label="Stop")
        self.plots = pn.Column(sizing_mode="stretch_width")
        self.help = pn.pane.Markdown(
            "*Click a map to probe a point, or drag a box with the box-select tool "
            "(toolbar) for its area mean and scores.*", styles={"font-size": "0.9em"})

    def reset(self) -> None:
        """Another region: the probed point or box is not on its maps."""
        self.where, self.window = None, None
        self.plots.objects = []

    # --- events from the maps (server side) ---------------------------------------------
    def point(self, lon: float, lat: float) -> None:
        self._probe("point", (lat, lon))

    def box(self, box: probe.Box) -> None:
        self._probe("box", box)

    def _probe(self, kind: str, where) -> None:
        s = self.selection
        try:  # bad input (a click beside the map, a box without cells): a notification
            grid = s.region_data.fine.isel(time=0)
            if kind == "point":
                probe.nearest_cell(grid, *where)
            else:
                probe.in_box(grid, where)
        except FinescaleError as err:
            notify(str(err))
            return
        self.where = (kind, where)
        self.draw()
        self._generate_window()

    def _generate_window(self) -> None:
        """Members on the days around the day (one day ahead from the true history where
        it exists), once per choice; interpolation needs no job."""
        s, service = self.selection, self.service
        key = service.key()
        if self.window is not None and self.window[0] == key:
            return
        season = season_of([s.day])[0]  # one model: the days of the day's season
        days = probe.window(s.day, HALF, s.coarse_days[in_season(s.coarse_days, season)])
        if self.job.running:
            self.job.cancel()
        self.job.start("probe", f"Generating {days.size} days around {s.date} for the probe",
                       lambda job: (key, service.generate(start=days[0], end=days[-1],
                                                    callback=job.on_progress,
                                                    cancel=job.cancel)))

    def _generated(self, result) -> None:
        self.window = result
        self.draw()

    # --- drawing --------------------------------------------------------------------------
    def draw(self) -> None:
        if self.where is None or self.shown is None:
            return
        try:
            self.plots.objects = self._plots()
        except FinescaleError as err:
            notify(str(err))

    def _plots(self) -> list:
        s, shown = self.selection, self.shown
        var = self.info.variable
        reg = s.region_data
        days = pd.date_range(s.day - pd.Timedelta(days=CONTEXT),
                             s.day + pd.Timedelta(days=CONTEXT))
        days = days[days.isin(s.coarse_days)]
        gen = self.window[1][var] if self.window is not None and \
            self.window[0] == self.service.key() else shown.result[var]
        kind, where = self.where
        if kind == "point":
            ser = probe.point_series(reg.coarse, reg.fine, *where, days, gen)
            title = f"point {ser.attrs['lat']:.3f}°N, {ser.attrs['lon']:.3f}°E"
            today = ser["members"].sel(time=s.day).values
            extra = [pn.pane.HoloViews(self._distribution(today, ser["truth"].sel(
                time=s.day).item(), title))]
        else:
            ser = probe.box_series(reg.coarse, reg.fine, where, days, gen)
            cells = probe.in_box(reg.fine.isel(time=0), where)
            title = f"box of {ser.attrs['cells']} cells"
            extra = [self._box_scores(shown.result.isel(cells), title)]
        caption = pn.pane.Markdown(
            f"**Probe: {title}** · {s.model}, {ser['members'].sizes['member']} members "
            f"around {s.date}", css_classes=["fs-probe"])
        series = pn.pane.HoloViews(self._series(ser, title))
        # the box's scores above its series; the point's members below its series
        body = [*extra, series] if kind == "box" else [series, *extra]
        return [caption, *body, self.job]

    def _series(self, ser, title: str) -> hv.Overlay:
        s, info = self.selection, self.info
        ylab = info.scale_label
        t = pd.DatetimeIndex(ser["time"].values)
        members = info.scale(ser["members"].values)  # (member, time), NaN on days not generated
        ok = np.isfinite(members).all(axis=0)
        els = [hv.Area((t[ok], members[:, ok].min(0), members[:, ok].max(0)), "time",
                       [ylab, "high"], label="members (min–max)").opts(
                           color=PALETTE["generated"], alpha=0.25)]
        els += [hv.Curve((t[ok], m[ok]), "time", ylab).opts(
            color=PALETTE["generated"], alpha=0.5, line_width=1) for m in members]
        els += [hv.Curve((t, info.scale(ser["coarse"].values)), "time", ylab,
                         label="coarse input").opts(color=PALETTE["coarse"]),
                hv.Curve((t, info.scale(ser["truth"].values)), "time", ylab,
                         label=f"{info.truth_name} truth").opts(color=PALETTE["truth"]),
                hv.VLine(s.day).opts(color="black", line_dash="dotted")]
        return hv.Overlay(els).opts(title=f"{title} · {s.model}", width=SERIES_WIDTH,
                                    height=PLOT_HEIGHT, legend_position="top_left",
                                    show_legend=True)

    def _distribution(self, members: np.ndarray, truth: float, title: str) -> hv.Overlay:
        s, info = self.selection, self.info
        v = info.scale(np.asarray(members, dtype=float))
        pts = hv.Scatter((v, np.zeros_like(v)), info.scale_label, "members").opts(
            size=10, color=PALETTE["generated"], alpha=0.7, marker="circle")
        els = [pts]
        if np.isfinite(truth):
            els.append(hv.VLine(float(info.scale(truth))).opts(color="black", line_width=2))
        return hv.Overlay(els).opts(title=f"members at the point on {s.date} (line: truth)",
                                    width=SERIES_WIDTH, height=130,
                                    yaxis=None)

    def _box_scores(self, result, title: str) -> pn.viewable.Viewable:
        m = metrics_for(result, self.info.variable)
        if m is None:
            return pn.pane.Markdown(f"**{title}**: no truth on this day to score against")
        return pn.pane.Markdown(f"**Scores of the {title}** on {self.selection.date} "
                                f"({self.info.scale_label}, ensemble mean): R² "
                                f"{m['r2']:.3f}, RMSE {m['rmse']:.3f}")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.help, self.plots, sizing_mode="stretch_width")
