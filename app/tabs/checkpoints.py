"""Two checkpoints side by side on the same day, members and seed (the user's model against
the shipped one, or two training runs), with their scores."""

from __future__ import annotations

import pandas as pd
import panel as pn

from finescale.app.jobview import JobView, notify
from finescale.app.live import Frame, MapGroup
from finescale.app.plots import shared_clim
from finescale.app.tables import table
from finescale.app.tabs.base import DayView
from finescale.app.tabs.shown import Shown
from finescale.data.errors import FinescaleError
from finescale.data.evaluation import score


class CheckpointPair(DayView):
    def __init__(self, **params):
        super().__init__(**params)
        self.ckpt_a = pn.widgets.Select(name="Checkpoint A", width=340)
        self.ckpt_b = pn.widgets.Select(name="Checkpoint B", width=340)
        self.run_button = pn.widgets.Button(name="Compare on this day", button_type="primary")
        self.run_button.on_click(self._compare)
        self.pair_job = JobView(on_result=self._pair_ready)
        self.pair = pn.Column(sizing_mode="stretch_width")

    def draw(self, shown: Shown) -> None:
        """List the checkpoints that can generate the day shown."""
        self.shown = shown
        ckpts = {f"{c.path.stem} · {c.source}": str(c.path)
                 for c in self.selection.catalogue.comparable(self.selection.region,
                                                              self.selection.day_season)}
        self.ckpt_a.options = self.ckpt_b.options = ckpts
        if len(ckpts) > 1 and self.ckpt_a.value == self.ckpt_b.value:
            self.ckpt_b.value = list(ckpts.values())[1]

    def _compare(self, _event=None) -> None:
        s, service = self.selection, self.service
        a, b = self.ckpt_a.value, self.ckpt_b.value
        if not a or not b:
            notify("no checkpoint to compare for this region and season")
            return
        if a == b:
            notify("pick two different checkpoints")
            return

        def work(job):
            out = {}
            for i, p in enumerate((a, b)):
                out[p] = service.generate(checkpoint=p, cancel=job.cancel,
                                    callback=lambda d, t, i=i: job.on_progress(i * t + d, 2 * t))
            return out

        self.pair_job.start("compare", f"Generating both checkpoints for {s.date}", work)

    def _pair_ready(self, result: dict) -> None:
        var = self.info.variable
        names = {p: f"{'AB'[i]}: {p.rsplit('/', 1)[-1]}" for i, p in enumerate(result)}
        means = {p: ds[var].isel(time=0).mean("member") for p, ds in result.items()}
        truth = next(iter(result.values()))[f"{var}_truth"].isel(time=0)
        has_truth = bool(truth.notnull().any())
        log = self.shown.log if self.shown else True
        clim = shared_clim(*means.values(), truth if has_truth else None, log=log)
        group = MapGroup(truth)
        panes = [group.add(f"ckpt-{i}", Frame(m, clim, f"{names[p]} · mean"), log,
                           colorbar=False).pane for i, (p, m) in enumerate(means.items())]
        if has_truth:
            title = f"{self.info.truth_name} truth"
            panes.append(group.add("ckpt-truth", Frame(truth, clim, title), log).pane)
        rows = []
        for p, ds in result.items():
            try:
                sc = score(ds, variable=var) if has_truth else {}
            except FinescaleError as err:
                notify(str(err))
                sc = {}
            rows.append({"checkpoint": names[p], **{k: round(sc[k], 4) for k in (
                "r2", "rmse", "crps", "variogram_error") if sc.get(k) is not None}})
        self.pair.objects = [pn.Row(*panes, sizing_mode="stretch_width"),
                             table(pd.DataFrame(rows))]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("#### Two checkpoints on the same day, members and seed"),
            pn.Row(self.ckpt_a, self.ckpt_b, self.run_button), self.pair_job, self.pair,
            sizing_mode="stretch_width")
