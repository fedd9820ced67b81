"""Background jobs for the dashboard: work runs in a thread, the UI polls a plain record.

Panel widgets must only be touched from the session's event loop, so a job never updates
the UI itself: it writes progress into a :class:`Job` record that a periodic callback reads,
and when it ends it asks the session's event loop for an immediate update (``on_done``).
Cancellation is a ``threading.Event`` the library functions already understand.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from data.errors import FinescaleError


@dataclass
class Job:
    """State of one background task, safe to read from another thread."""

    name: str
    done: int = 0
    total: int = 0
    eta_s: float | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)
    val_losses: list[tuple[int, float]] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    finished: bool = False
    started: float = field(default_factory=time.perf_counter)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def on_progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def on_event(self, ev: dict) -> None:
        """Training callback: steps carry loss and ETA, epochs carry validation loss."""
        if ev["event"] == "step":
            self.done, self.total, self.eta_s = ev["step"], ev["total"], ev["eta_s"]
            self.losses.append((ev["step"], ev["loss"]))
        elif ev["event"] == "epoch":
            self.val_losses.append((self.done, ev["val_loss"]))


def start(name: str, work: Callable[[Job], Any],
          on_done: Callable[[], None] | None = None) -> Job:
    """Run ``work(job)`` in a daemon thread; errors become a one-line ``job.error``.

    ``on_done`` is called from the worker thread when the job has finished: the dashboard
    uses it to schedule its UI update at once instead of waiting for the next poll.
    """
    job = Job(name)

    def run() -> None:
        try:
            job.result = work(job)
        except FinescaleError as err:
            job.error = str(err)
        except Exception as err:  # a bug: keep the page alive, keep the trace in the log
            traceback.print_exc()
            job.error = f"internal error in {name}: {type(err).__name__}: {err}"
        finally:
            job.finished = True
            if on_done is not None:
                with contextlib.suppress(Exception):  # a closed session cannot be woken
                    on_done()

    threading.Thread(target=run, name=f"finescale-{name}", daemon=True).start()
    return job
