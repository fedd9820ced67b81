"""Background jobs for the dashboard: work runs in a thread, the UI polls a plain record.

Panel widgets must only be touched from the session's event loop, so a job never updates
the UI itself: it writes progress into a :class:`Job` record that a periodic callback reads,
and when it ends it asks the session's event loop for an immediate update (``on_done``).
Cancellation is a ``threading.Event`` the library functions already understand.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from finescale.data.errors import FinescaleError


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


ENV_GENERATIONS = "FINESCALE_GENERATIONS"


def slot_count(raw: object, name: str) -> int:
    """How many generations may run at once, from the command line or the environment:
    a whole number of at least one; else one error naming where it came from."""
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise FinescaleError(f"{name}={raw!r} is not a whole number") from None
    if n < 1:
        raise FinescaleError(f"{name} {n}: at least one generation must run")
    return n


class Slots:
    """At most ``n`` heavy computations at once per server process; the others wait their
    turn in order of arrival. Eight pages' generations at once on 2 cores finish none sooner
    than in turn (torch already uses every core for one), while all hold their model,
    features and activations at the same time; in turn, the first asked is served first."""

    def __init__(self, n: int) -> None:
        self.n = slot_count(n, "generation slots")
        self._lock = threading.Condition()
        self._running = 0
        self._queue: list[object] = []

    @contextlib.contextmanager
    def held(self, cancel: threading.Event | None = None, poll_s: float = 0.1):
        """Wait for a free slot (first come, first served) and hold it; a ``cancel`` set
        while waiting leaves the queue with the same error a cancelled generation gives."""
        me = object()
        with self._lock:
            self._queue.append(me)
            try:
                while self._queue.index(me) >= self.n - self._running:
                    if cancel is not None and cancel.is_set():
                        raise FinescaleError("generation cancelled")
                    self._lock.wait(poll_s)
            finally:
                self._queue.remove(me)
                self._lock.notify_all()
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    @property
    def waiting(self) -> int:
        return len(self._queue)


def generation_slots() -> Slots:
    """This process's generation slots (``finescale serve --generations N``; default 1)."""
    global _SLOTS
    if _SLOTS is None:
        _SLOTS = Slots(slot_count(os.environ.get(ENV_GENERATIONS, "1"), ENV_GENERATIONS))
    return _SLOTS


_SLOTS: Slots | None = None


class Shared:
    """Jobs keyed by what they compute, shared by the sessions that ask for the same thing
    while it runs: a page reloaded during a generation, or two visitors of a fresh server,
    wait for one job instead of splitting two cores between copies of it. A job is cancelled
    only when the last session waiting for it leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Any, Job] = {}
        self._waiting: dict[Any, dict[int, Callable[[], None] | None]] = {}

    def join(self, key: Any, user: object, wake: Callable[[], None] | None,
             make: Callable[[Callable[[], None]], Job]) -> Job:
        """The running job for ``key``, or a new one from ``make(on_done)``; ``wake`` is
        called when it ends (see :func:`start`)."""
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.finished or job.cancel.is_set():
                waiting: dict[int, Callable[[], None] | None] = {}
                self._waiting[key] = waiting

                def wake_all() -> None:
                    with self._lock:
                        if self._waiting.get(key) is waiting:
                            del self._waiting[key], self._jobs[key]
                        calls = [w for w in waiting.values() if w is not None]
                    for w in calls:
                        with contextlib.suppress(Exception):  # a closed session
                            w()

                job = self._jobs[key] = make(wake_all)
            self._waiting[key][id(user)] = wake
            return job

    def leave(self, key: Any, user: object) -> None:
        """``user`` no longer waits for ``key``; the job is cancelled if nobody else does."""
        with self._lock:
            waiting = self._waiting.get(key)
            if waiting is None:
                return
            waiting.pop(id(user), None)
            if not waiting:
                self._jobs[key].cancel.set()


class Once:
    """Results computed once per process whoever asks first (the domain-similarity table);
    every page that asks while the job runs is woken when it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Any, Job] = {}
        self._waiting: dict[Any, list[Callable[[], None]]] = {}

    def get(self, key: Any, name: str, work: Callable[[Job], Any],
            wake: Callable[[], None] | None = None) -> Job:
        """The job for ``key`` (started now if it is the first ask); ``wake`` is called when
        it ends unless it has already ended."""
        with self._lock:  # the job's end takes the lock too: no wake-up is lost in between
            job = self._jobs.get(key)
            if job is None:
                waiting = self._waiting[key] = []

                def wake_all() -> None:
                    with self._lock:
                        calls = list(waiting)
                        waiting.clear()
                    for w in calls:
                        with contextlib.suppress(Exception):  # a closed session
                            w()

                job = self._jobs[key] = start(name, work, on_done=wake_all)
            if wake is not None and not job.finished:
                self._waiting[key].append(wake)
            return job
