"""One widget for every background job of the dashboard: progress, ETA, cancel, result, error.

A job runs in a thread (:mod:`app.jobs`) and never touches the page; this view polls it
from the session's event loop while it runs, is woken at once when it ends, and then hands
its result (or its one-line error) to the tab that started it. Without a server (tests)
:meth:`JobView.follow` waits for the job synchronously.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import panel as pn
from panel.io.state import set_curdoc

from finescale.app import jobs

POLL_MS = 300


def notify(msg: str, level: str = "error") -> None:
    """A notification on the page (nothing without a server); ``level`` "info" for news
    that is not a failure."""
    if pn.state.notifications is not None:
        getattr(pn.state.notifications, level)(msg, duration=8000)


def session_waker(then: Callable[[], None]) -> Callable[[], None] | None:
    """A thread-safe call that runs ``then`` on this session's event loop next, or once
    its page has connected (None without a server): what changes before that can miss the
    page (a job that ended while the page loaded drew no maps)."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return None

    def wake() -> None:
        with set_curdoc(doc):
            pn.state.execute(lambda: pn.state.onload(then), schedule=True)

    return wake


class JobView(pn.viewable.Viewer):
    """Shows one job at a time; ``on_result(result)`` and ``on_error(message)`` run on the
    session's event loop when it ends, ``on_tick(job)`` at each poll and once at the end.
    ``describe(job)`` gives the line shown while it runs (default: label, percent, ETA);
    the line is set once per poll (each change is a page layout in the browser)."""

    def __init__(self, on_result: Callable[[Any], None],
                 on_error: Callable[[str], None] | None = None,
                 on_tick: Callable[[jobs.Job], None] | None = None,
                 describe: Callable[[jobs.Job], str] | None = None,
                 cancel_label: str = "Cancel", **params):
        super().__init__(**params)
        self.on_result, self.on_error, self.on_tick = on_result, on_error, on_tick
        self.describe = describe or self.default_line
        self.job: jobs.Job | None = None
        self.label = ""
        self.progress = pn.indicators.Progress(value=0, max=100, bar_color="primary",
                                               visible=False, sizing_mode="stretch_width")
        self.text = pn.pane.Markdown("", css_classes=["fs-job"])
        self.cancel_button = pn.widgets.Button(name=cancel_label, button_type="warning",
                                               visible=False, width=110)
        self.cancel_button.on_click(lambda _e: self.cancel())
        self._poll = None

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.finished

    def start(self, name: str, label: str, work: Callable[[jobs.Job], Any]) -> jobs.Job:
        """Run ``work(job)`` in the background and follow it."""
        return self.follow(jobs.start(name, work, on_done=self.waker()), label)

    def follow(self, job: jobs.Job, label: str) -> jobs.Job:
        """Follow a job started elsewhere (e.g. one shared by several pages). Its progress
        and cancel button appear at the first poll that finds it running: a job done sooner
        changes nothing on the page but its result (each shown or hidden widget costs the
        browser a layout of the whole page, ~50 ms on 2 cores)."""
        self.job, self.label = job, label
        if pn.state.curdoc is None:  # no server: finish synchronously
            while not job.finished:
                time.sleep(0.05)
            self.tick()
        else:  # polled once the page is connected: a page that never connects (a tab closed
            # while loading, an HTTP check) would otherwise make Panel retry starting the
            # poll on every tick of the server's event loop (tens of thousands a minute,
            # slowing every other page: seen with py-spy)
            pn.state.onload(self._start_poll)
        return job

    def _start_poll(self) -> None:
        if self._poll is None and self.running:
            self._poll = pn.state.add_periodic_callback(self.tick, period=POLL_MS)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()

    def waker(self) -> Callable[[], None] | None:
        """Wakes :meth:`tick`: an ended job is shown at once rather than at the next poll."""
        return session_waker(self.tick)

    def tick(self) -> None:
        job = self.job
        if job is None:
            return self._stop()
        if self.on_tick is not None:
            self.on_tick(job)
        if not job.finished:
            self.progress.visible = self.cancel_button.visible = True
            self.progress.value = int(100 * job.fraction)
            self.text.object = self.describe(job)
            return None
        self.job = None
        self.progress.visible = self.cancel_button.visible = False
        self._stop()
        if job.error:
            cancelled = job.cancel.is_set() and "cancel" in job.error.lower()
            self.text.object = "cancelled" if cancelled else f"⚠️ {job.error}"
            if not cancelled:
                (self.on_error or notify)(job.error)
            return None
        self.text.object = ""
        self.on_result(job.result)
        return None

    def default_line(self, job: jobs.Job) -> str:
        """Label, percent done and time left."""
        eta = f", about {job.eta_s:.0f} s left" if job.eta_s is not None else ""
        done = f" {int(100 * job.fraction)} %{eta}" if job.total else ""
        return f"{self.label} …{done}"

    def _stop(self) -> None:
        if self._poll is not None:  # an idle session costs the server nothing
            self._poll.stop()
            self._poll = None

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(pn.Row(self.text, self.cancel_button), self.progress,
                         sizing_mode="stretch_width")
