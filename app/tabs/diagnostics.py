"""The Diagnostics tab: the day's variogram, spectrum and scatter against truth, the
season's ACF/PACF (with a 30-day roll-out on request), the day's scores of every model
generated, and the domain-similarity table."""

from __future__ import annotations

import pandas as pd
import panel as pn

from finescale.app.jobview import JobView, session_waker
from finescale.app.plots import acf_plot, lead_plot, scatter_density, spectrum_plot, variogram_plot
from finescale.app.streamed import StreamedPlot
from finescale.app.tables import table
from finescale.app.tabs.base import Tab
from finescale.app.tabs.shown import Shown
from finescale.data.evaluation import lead_skill
from finescale.data.regrid import regrid

ROLLOUT_DAYS = 30


class DiagnosticsTab(Tab):
    def __init__(self, **params):
        super().__init__(**params)
        self.rollout = None
        self.button = pn.widgets.Button(name=f"Roll out {ROLLOUT_DAYS} days from this date")
        self.button.on_click(self._start_rollout)
        self.job = JobView(on_result=self._rolled_out)
        # built once, updated in place for each day (app.streamed)
        self.head, self.scores_head, self.sim_head = (pn.pane.Markdown() for _ in range(3))
        self.variogram, self.spectrum = StreamedPlot(variogram_plot), StreamedPlot(spectrum_plot)
        self.acf = StreamedPlot(acf_plot)
        self.pacf = StreamedPlot(lambda series, label: acf_plot(series, partial=True,
                                                                 label=label))
        self.lead, self.scatter = StreamedPlot(lead_plot), StreamedPlot(scatter_density)
        self.scores = table(pd.DataFrame())
        self.plots = [pn.Row(self.variogram.pane, self.spectrum.pane),
                      pn.Row(self.acf.pane, self.pacf.pane), pn.Row(self.button, self.job)]
        self.sim_pane = pn.Column()
        self._sim_shown = False  # the finished similarity table is in sim_pane
        self.pane = pn.Column(sizing_mode="stretch_width")

    def draw(self, shown: Shown) -> None:
        s, f, info = self.selection, shown.fields, self.info
        scale, label = info.scale, info.scale_label
        bilinear = regrid(f["coarse"], f["generated"]["lat"].values,
                          f["generated"]["lon"].values, "bilinear")
        fields = {"coarse": f["coarse"], "bilinear": bilinear, "truth": f["truth"],
                  "generated": f["generated"]}
        series = self.service.season_series(self.rollout)
        self.head.object = f"### {s.region} · {s.season} · {s.date}: this day"
        self.variogram.show(fields, scale=scale, label=label)
        self.spectrum.show({k: v for k, v in fields.items() if k != "coarse"}, scale=scale)
        self.acf.show(series, label=label)
        self.pacf.show(series, label=label)
        items = [self.head, *self.plots]
        lead = lead_skill(self.rollout, info.variable) if self.rollout is not None \
            else None
        if lead is not None:
            self.lead.show(lead["lead"], lead["rmse"], label=s.model, scale_label=label)
            items.append(self.lead.pane)
        if f["truth"] is not None:
            self.scatter.show(f["generated"], f["truth"], scale, label)
            self.scores_head.object = f"#### Scores of this day ({label})"
            self.scores.object = self.service.day_scores()
            items += [self.scatter.pane, self.scores_head, self.scores]
        self.sim_head.object = f"#### Domain similarity (Wasserstein, {label} min–max scaled)"
        items += [self.sim_head, self.sim_pane]
        self._fill_similarity()
        if [id(o) for o in items] != [id(o) for o in self.pane.objects]:
            self.pane.objects = items

    def _fill_similarity(self) -> None:
        """The similarity table, or a note while it is computed; called again when it ends."""
        if self._sim_shown:
            return
        sim = self.service.jobs.similarity(session_waker(self._fill_similarity))
        self._sim_shown = sim.finished
        if sim.finished and sim.error:
            self.sim_pane.objects = [pn.pane.Alert(sim.error, alert_type="warning")]
        elif sim.finished:
            self.sim_pane.objects = [table(sim.result, max_height=320)]
        elif not self.sim_pane.objects:
            self.sim_pane.objects = [pn.pane.Markdown(
                "*computing … (shown here when it is ready, about 2 minutes on first use)*")]

    # --- roll-out -------------------------------------------------------------------------
    def _start_rollout(self, _event=None) -> None:
        self.job.start("rollout", f"Rolling out {ROLLOUT_DAYS} days", lambda job: (
            self.service.jobs.rollout(ROLLOUT_DAYS, members=2, callback=job.on_progress,
                                      cancel=job.cancel)))

    def _rolled_out(self, result) -> None:
        self.rollout = result
        self.job.text.object = "Roll-out done: see the ACF panels and the lead-day skill"
        if self.shown is not None:
            self.draw(self.shown)

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane
