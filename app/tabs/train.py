"""The Train tab: train the encoder or a downscaler for the region and season shown, with
the loss curve live; the new checkpoint joins the model list."""

from __future__ import annotations

import time

import holoviews as hv
import panel as pn

from finescale.app.jobs import Job
from finescale.app.jobview import JobView, notify
from finescale.app.plots import loss_curve
from finescale.app.state import TrainRequest, user_checkpoint_dir

REDRAW_S = 2.0


class TrainTab(pn.viewable.Viewer):
    def __init__(self, board, request: TrainRequest, **params):
        super().__init__(**params)
        self.board, self.request = board, request
        self.controls = pn.Param(request, show_name=False, widgets={
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
        from finescale.model.checkpoints import checkpoint_name
        from finescale.model.config import get_preset, override
        from finescale.model.device import resolve_device
        from finescale.model.training import TrainSpec, train_downscaler, train_encoder

        s, t = self.board.state, self.request
        preset = get_preset(t.preset)
        preset = override(preset, encoder=override(preset.encoder, epochs=t.epochs,
                                                   steps_per_epoch=t.steps),
                          downscaler=override(preset.downscaler, epochs=t.epochs,
                                              steps_per_epoch=t.steps))
        out = user_checkpoint_dir()
        enc = out / f"{checkpoint_name(s.region, s.season, 'encoder')}.safetensors"
        if not enc.exists():
            shipped = s.checkpoint_for("encoder", s.season)
            enc = shipped if shipped is not None else enc
        spec = TrainSpec(kind=t.stage, region=s.region, season=s.season, preset=preset,
                         out_dir=out, device=resolve_device("auto"), encoder_path=enc,
                         command=f"dashboard: {t.stage} {s.region} {s.season} {t.preset}")
        fn = train_encoder if t.stage == "encoder" else train_downscaler
        self.button.disabled = True
        self._drawn = (0, 0, 0.0)
        self.job.start("train", f"Training **{t.stage}** for {s.region} {s.season}",
                       lambda job: fn(s.dataset, spec, progress=False, callback=job.on_event,
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
        self.board.models_changed()
        if pn.state.notifications is not None:
            pn.state.notifications.success(f"saved {path.name}", duration=5000)

    def _failed(self, msg: str) -> None:
        self.button.disabled = False
        notify(msg)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.controls, self.button, self.job, self.loss)
