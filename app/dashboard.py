"""The finescale dashboard, served by the entry script ``app/main.py``.

This module is imported once per server process; ``panel serve`` runs the entry script once
per browser session. What pages share (the generations in flight, the generated days, the
similarity table) and what is costly to set up therefore lives here and in
:mod:`app.service` / :mod:`app.page_jobs`, not in the script.

The shell holds the user's choice (:class:`app.selection.Selection`, the one definition of
it), the page's :class:`app.service.GenerationService` (the tabs' only way to compute), the
sidebar, the generation of the day (one shared job per choice, followed by a
:class:`app.jobview.JobView`) and the tabs (:mod:`app.tabs`, one Viewer each, given the
choice, the service and the day on screen; a tab draws when it is open and the day changes,
or when it is opened).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import panel as pn
import param

from finescale.app import jobs
from finescale.app.jobview import JobView, notify, session_waker
from finescale.app.links import share_in_url
from finescale.app.page_assets import OfflineFast
from finescale.app.plots import shared_clim
from finescale.app.selection import Selection, TrainRequest
from finescale.app.service import GenerationService, cached, metrics_for, open_selection
from finescale.app.sidebar import Sidebar
from finescale.app.tabs.compare import CompareTab
from finescale.app.tabs.diagnostics import DiagnosticsTab
from finescale.app.tabs.ensemble import EnsembleTab
from finescale.app.tabs.export import ExportTab
from finescale.app.tabs.maps import MapsTab
from finescale.app.tabs.season import SeasonTab
from finescale.app.tabs.shown import Shown
from finescale.app.tabs.train import TrainTab
from finescale.data.errors import FinescaleError

LOG = logging.getLogger("finescale.dashboard")  # set up by app.server_setup
_GENERATING = jobs.Shared()  # one generation per choice, whichever pages wait for it


@contextmanager
def _batched() -> Iterator[None]:
    """Send a redraw's many model changes as one message."""
    doc = pn.state.curdoc
    if doc is None:
        yield
        return
    with pn.io.hold(doc):
        yield


class Dashboard(pn.viewable.Viewer):
    """Explore coarse vs generated vs truth maps and their diagnostics."""

    selection = param.ClassSelector(class_=Selection, doc="the user's choice")
    train = param.ClassSelector(class_=TrainRequest, doc="the Train tab's request")
    shown = param.ClassSelector(class_=Shown, default=None, allow_None=True,
                                doc="the generated day on screen, given to every tab")

    def __init__(self, **params):
        super().__init__(**params)
        self.service = GenerationService(self.selection)
        self._job_key: tuple | None = None
        self.status = pn.pane.Markdown("", css_classes=["fs-status"])
        self.gen = JobView(on_result=lambda r: self._show(*r), on_error=self._notify_error,
                           on_tick=self._generating)
        self.notice = pn.Column()  # holds the no-model note only when it applies
        self.sidebar = Sidebar(selection=self.selection)
        given = {"selection": self.selection, "service": self.service}
        self.pages = {"Maps": MapsTab(active=True, **given),  # drawn under every tab
                      "Ensemble": EnsembleTab(**given), "Compare": CompareTab(**given),
                      "Diagnostics": DiagnosticsTab(**given), "Seasonal": SeasonTab(**given),
                      "Train": TrainTab(request=self.train, **given),
                      "Export": ExportTab(**given)}
        self.tabs = pn.Tabs(*self.pages.items(), dynamic=True, sizing_mode="stretch_width")
        self.tabs.param.watch(self._opened, "active")
        self.selection.param.watch(self._request, list(Selection.GENERATED_BY))
        self.selection.param.watch(self._restyle, ["show", "log_scale"])
        self.selection.param.watch(self._describe, ["region"])
        self.selection.param.watch(self._noted, ["note"])
        self.service.catalogue.param.watch(self._models_changed, "checkpoints")
        self._describe()
        share_in_url(self.selection, self.tabs)
        # served: the maps are built on the next tick of the event loop, after the page's
        # HTML has gone out, so they are ready while the browser still parses the JavaScript
        pn.state.execute(self._request, schedule=True)
        pn.state.execute(self.sidebar.describe, schedule=True)  # the locator, after the maps

    def _describe(self, *_: param.parameterized.Event) -> None:
        """What to do when no model fits the data (a note above the maps)."""
        if self.service.catalogue.has_models():
            self.notice.objects = []
            return
        ds = self.selection.dataset
        self.notice.objects = [pn.pane.Alert(
            f"**No trained model fits this dataset yet** ({ds.variable}, "
            f"{', '.join(ds.regions)}): the shipped models were trained on the "
            "embedded default. Open the Train tab and train the encoder, then a downscaler "
            "(diffusion, unet, …) for a season with fine data; until then the maps show "
            "interpolation.", alert_type="info")]

    def _noted(self, event: param.parameterized.Event) -> None:
        """The selection changed the user's model (no student for the season): say so once."""
        if event.new:
            notify(event.new, level="info")
            self.selection.note = ""

    def _models_changed(self, *_: param.parameterized.Event) -> None:
        """A checkpoint was added (training): the selection lists it, the page says so."""
        self.sidebar.describe()
        self._describe()

    # --- generation -----------------------------------------------------------------------
    def _request(self, *_: param.parameterized.Event) -> None:
        """Start generating the current choice in the background (or show the cache)."""
        s, service = self.selection, self.service
        try:
            service.validate()
        except FinescaleError as err:
            self._notify_error(str(err))
            return
        key = service.key()
        if self.gen.running and key == self._job_key:
            return  # the same request again (a widget echoing its value): keep the job
        if self.gen.running:
            _GENERATING.leave(self._job_key, self)  # cancelled unless another page waits
        self._job_key = key
        label = f"{s.model} · {s.region} · {s.date}"
        hit = cached(key)
        if hit is not None:  # drawn now: in this redraw's message, or a new page's document
            LOG.info("generation cached: %s", label)
            self.gen.job = None
            self._show(label, hit)
            return
        LOG.info("generation requested: %s", label)

        def start(on_done):
            LOG.info("generation started: %s", label)  # once for pages asking the same
            return jobs.start("generate", lambda job: (label, service.generate(
                callback=job.on_progress, cancel=job.cancel)), on_done=on_done)

        job = _GENERATING.join(key, self, session_waker(self.gen.tick), start)
        self.gen.follow(job, f"Generating **{label}**")

    def _generating(self, job) -> None:
        """The status line while a generation runs (from the first poll: a quick one goes
        straight to its result)."""
        if not job.finished:
            self.status.object = f"{self.gen.label} …"

    def _show(self, label: str, result) -> None:
        info = self.service.info
        f = self.service.fields(result)
        # signed data have no log colour scale
        log = self.selection.log_scale and info.transform == "log"
        clim = shared_clim(f["coarse"], f["generated"], f["truth"], log=log)
        status = f"Showing **{label}**"  # set once: each change is a layout in the browser
        m = metrics_for(result, info.variable) if f["truth"] is not None else None
        if m:
            status += f" — R² {m['r2']:.3f}, RMSE {m['rmse']:.3f} ({info.scale_label})"
        self.status.object = status
        self.shown = Shown(result, f, clim, log, label)

    def _notify_error(self, msg: str) -> None:
        self.status.object = f"⚠️ {msg}"
        notify(msg)

    # --- drawing --------------------------------------------------------------------------
    def _restyle(self, *_: param.parameterized.Event) -> None:
        """The same ensemble, other fields (a member) or colour scale."""
        if self.shown is not None:
            self._show(self.shown.label, self.shown.result)

    @param.depends("shown", watch=True)
    def _hand_out(self) -> None:
        """Every tab gets the day; the Maps tab and the open one draw it, in one message."""
        with _batched():
            for page in self.pages.values():
                page.shown = self.shown

    def _opened(self, event: param.parameterized.Event) -> None:
        names = list(self.pages)
        for i, name in enumerate(names):
            if name != "Maps":  # the maps stay drawn under every tab
                self.pages[name].active = i == event.new

    # --- layout ---------------------------------------------------------------------------
    def __panel__(self) -> pn.viewable.Viewable:
        ds = self.selection.dataset
        name = ds.manifest.get("long_name") or ds.variable
        return pn.template.FastListTemplate(
            title=f"finescale — transfer-encoder diffusion downscaling of {name}",
            sidebar=[self.sidebar], main=[pn.Column(self.notice, self.status, self.gen, self.tabs,
                                               sizing_mode="stretch_width")],
            sidebar_width=300, theme_toggle=False, design=OfflineFast,
            busy_indicator=None)  # the status line says what runs; the spinner's class
        # changes cost the browser two layouts of the page per redraw


def create_app() -> pn.viewable.Viewable:
    try:
        return Dashboard(selection=open_selection(), train=TrainRequest())
    except FinescaleError as err:
        return pn.pane.Alert(f"**finescale**: {err}", alert_type="danger")
    except Exception as err:  # a bug: say so on the page, keep the traceback in the log
        import traceback

        traceback.print_exc()
        return pn.pane.Alert(f"**finescale** could not start: {type(err).__name__}: {err}",
                             alert_type="danger")
