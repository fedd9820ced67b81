"""The Train tab: train the encoder or a downscaler for the region and season shown, with
the loss curve live; the new checkpoint joins the model list."""

from __future__ import annotations

import time

import holoviews as hv
import panel as pn
import param

from finescale.app.jobs import Job
from finescale.app.jobview import JobView, notify
from finescale.app.plots import loss_curve
from finescale.app.selection import TrainRequest
from finescale.app.tabs.base import Tab

REDRAW_S = 2.0


class TrainTab(Tab):
    request = param.ClassSelector(class_=TrainRequest, doc="what to train")

    def __init__(self, **params):
        super().__init__(**params)
        self.controls = pn.Param(self.request, show_name=False, widgets={
            "epochs": pn.widgets.IntInput, "steps": pn.widgets.IntInput})
        self.button = pn.widgets.Button(name="Start training", button_type="primary")
        self.button.on_click(self._start)
        # the curve follows a stream: a new HoloViews object per poll re-rendered the whole
        # Bokeh plot every 0.3 s on the server's event loop and, through the GIL, slowed the
        # training thread it was showing ~8× (2×20 steps of the test preset: 33 s vs 4 s)
        self._curve = hv.streams.Pipe(data=([], []))
        self._drawn = (0, 0, 0.0)  # points and time of the last draw
        self.loss = pn.pane.HoloViews(hv.DynamicMap(lambda data: loss_curve(*data),
                                                    streams=[self._curve]))
        self.job = JobView(on_result=self._saved, on_error=self._failed, on_tick=self._tick,
                           describe=self._describe)

    def _start(self, _event=None) -> None:
        if self.job.running:
            notify("a training run is already going in this session")
            return
        s, t = self.selection, self.request
        self.button.disabled = True
        self._drawn = (0, 0, 0.0)
        self.job.start("train", f"Training **{t.stage}** for {s.region} {s.season}",
                       lambda job: self.service.jobs.train(t, callback=job.on_event,
                                                           cancel=job.cancel))

    def _tick(self, job: Job) -> None:
        if job.finished:  # saved, failed or cancelled: another run may start
            self.button.disabled = False
        if job.losses:
            self._draw(job)

    def _describe(self, job: Job) -> str:
        if not job.losses:  # the data and the networks are still being prepared
            return self.job.default_line(job)
        eta = f", ETA {job.eta_s:.0f} s" if job.eta_s is not None else ""
        return f"Step {job.done}/{job.total}, loss {job.losses[-1][1]:.4f}{eta}"

    def _draw(self, job: Job) -> None:
        """Redraw the loss curve when it has new points, at most every ``REDRAW_S``, and once
        more when the run ends."""
        n, nv, last = self._drawn
        new = (len(job.losses), len(job.val_losses))
        if new != (n, nv) and (job.finished or time.monotonic() - last >= REDRAW_S):
            self._drawn = (*new, time.monotonic())
            self._curve.send((list(job.losses), list(job.val_losses)))

    def _saved(self, path) -> None:
        self.button.disabled = False
        self.job.text.object = f"Saved **{path.name}**; it is in the model list"
        self.service.catalogue.refresh()  # the page's watchers list it
        if pn.state.notifications is not None:
            pn.state.notifications.success(f"saved {path.name}", duration=5000)

    def _failed(self, msg: str) -> None:
        self.button.disabled = False
        notify(msg)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.controls, self.button, self.job, self.loss)
