"""Background jobs: results, errors and the wake-up call when they end."""

from __future__ import annotations

import threading
import time

import pytest

from finescale.app import jobs
from finescale.data.errors import FinescaleError


def _wait(job: jobs.Job) -> None:
    for _ in range(200):
        if job.finished:
            return
        threading.Event().wait(0.01)
    raise AssertionError("job did not finish")


def test_on_done_is_called_after_the_result_is_set():
    seen, box = [], {}
    go, done = threading.Event(), threading.Event()
    box["job"] = jobs.start("t", lambda j: go.wait(2) and 42, on_done=lambda: (
        seen.append((box["job"].finished, box["job"].result)), done.set()))
    go.set()  # the job is bound above before the work can end
    assert done.wait(2)
    assert seen == [(True, 42)]


def test_errors_are_one_line_and_a_failing_wake_up_is_harmless():
    def work(_job):
        raise FinescaleError("no checkpoint for area9")

    def wake():
        raise RuntimeError("session closed")

    job = jobs.start("t", work, on_done=wake)
    _wait(job)
    assert job.error == "no checkpoint for area9" and job.result is None


def test_sessions_asking_for_the_same_thing_share_one_job():
    shared, runs, woken = jobs.Shared(), [], []
    gates = [threading.Event(), threading.Event()]  # one per job started

    def make(on_done):
        gate = gates[len(runs)]
        runs.append(1)
        return jobs.start("g", lambda j: (gate.wait(2), 7)[-1], on_done=on_done)

    a = shared.join("day1", "A", lambda: woken.append("A"), make)
    b = shared.join("day1", "B", lambda: woken.append("B"), make)
    assert a is b  # the second page waits for the first one's job
    shared.leave("day1", "A")  # A picks another day: B still waits, nothing is cancelled
    assert not a.cancel.is_set()
    gates[0].set()
    _wait(a)
    threading.Event().wait(0.05)
    assert (runs, a.result, woken) == ([1], 7, ["B"])  # one run; only B is woken
    c = shared.join("day1", "C", None, make)  # finished: a new request starts a new job
    assert c is not a and len(runs) == 2
    shared.leave("day1", "C")  # its only session left: cancelled
    assert c.cancel.is_set()
    gates[1].set()


def test_a_once_job_runs_once_and_wakes_every_page_that_waited():
    once, runs, woken = jobs.Once(), [], []
    gate = threading.Event()

    def work(_job):
        runs.append(1)
        gate.wait(2)
        return "table"

    a = once.get("data", "sim", work, lambda: woken.append("A"))
    b = once.get("data", "sim", work, lambda: woken.append("B"))
    assert a is b
    gate.set()
    _wait(a)
    threading.Event().wait(0.05)
    c = once.get("data", "sim", work, lambda: woken.append("C"))  # ended: no wake-up needed
    assert (c is a, c.result, runs, woken) == (True, "table", [1], ["A", "B"])


def test_job_view_reports_result_error_and_cancel():
    """The one job widget: result to on_result, a one-line error to on_error, a cancelled
    job to neither; progress and the cancel button are hidden when it ends."""
    import threading

    from finescale.app.jobview import JobView
    from finescale.data.errors import FinescaleError

    got, errors, ticks = [], [], []
    view = JobView(on_result=got.append, on_error=errors.append, on_tick=ticks.append)

    def work(job):
        job.on_progress(1, 2)
        return 42

    view.start("t", "Working", work)
    assert got == [42] and errors == [] and ticks and not view.running
    assert not view.progress.visible and not view.cancel_button.visible

    def fails(job):
        raise FinescaleError("no model for area9")

    view.start("t", "Working", fails)
    assert errors == ["no model for area9"] and "⚠️ no model for area9" in view.text.object

    gate, started = threading.Event(), threading.Event()

    def waits(job):
        started.set()
        gate.wait(30)
        if job.cancel.is_set():
            raise FinescaleError("generation cancelled")
        return 0

    def user_cancels() -> None:  # once the view follows the running job (events, no time)
        started.wait(30)
        _until(lambda: view.job is not None and not view.job.finished)
        view.cancel()
        gate.set()

    threading.Thread(target=user_cancels).start()
    view.start("t", "Working", waits)
    assert view.text.object == "cancelled" and errors == ["no model for area9"]
    assert got == [42]


def _until(condition, timeout: float = 30.0) -> None:
    """Wait for a state the threads reach (not for a time they might need)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the threads never got there"
        time.sleep(0.001)


def test_slots_run_one_at_a_time_in_order_of_arrival_and_a_cancelled_wait_leaves():
    """Ordered by events, not by sleeps: 0 holds the slot until told; 1 and 2 queue behind
    it in that order; 1 gives up while waiting; 2 runs once 0 lets go."""
    slots = jobs.Slots(1)
    order, running, peak = [], [0], [0]
    lock = threading.Lock()
    held = {i: threading.Event() for i in range(3)}
    release = {i: threading.Event() for i in range(3)}

    def work(i: int, cancel: threading.Event | None = None) -> None:
        try:
            with slots.held(cancel, poll_s=0.01):
                with lock:
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                    order.append(i)
                held[i].set()
                release[i].wait(30)
                with lock:
                    running[0] -= 1
        except FinescaleError as err:
            order.append(str(err))

    cancel = threading.Event()
    threads = [threading.Thread(target=work, args=(0,))]
    threads[0].start()
    assert held[0].wait(30)
    for i, c in ((1, cancel), (2, None)):
        threads.append(threading.Thread(target=work, args=(i, c)))
        threads[-1].start()
        _until(lambda i=i: slots.waiting == i)  # queued behind the earlier ones
    cancel.set()  # 1 gives up while waiting
    threads[1].join(30)
    assert order == [0, "generation cancelled"] and slots.waiting == 1
    release[0].set()  # 2 runs next
    assert held[2].wait(30)
    release[2].set()
    for t in threads:
        t.join(30)
    assert order == [0, "generation cancelled", 2]
    assert peak[0] == 1 and slots.waiting == 0

    two = jobs.Slots(2)
    with two.held(), two.held():  # both at once
        assert two.waiting == 0
    with pytest.raises(FinescaleError, match="at least one"):
        jobs.Slots(0)


def test_generation_slots_come_from_the_environment(monkeypatch):
    monkeypatch.setattr(jobs, "_SLOTS", None)
    monkeypatch.setenv(jobs.ENV_GENERATIONS, "3")
    assert jobs.generation_slots().n == 3
    monkeypatch.setattr(jobs, "_SLOTS", None)
    monkeypatch.setenv(jobs.ENV_GENERATIONS, "many")
    with pytest.raises(FinescaleError, match="FINESCALE_GENERATIONS='many'"):
        jobs.generation_slots()
    monkeypatch.setattr(jobs, "_SLOTS", None)
    monkeypatch.setenv(jobs.ENV_GENERATIONS, "0")
    with pytest.raises(FinescaleError, match="FINESCALE_GENERATIONS 0: at least one"):
        jobs.generation_slots()
    monkeypatch.setattr(jobs, "_SLOTS", None)


def test_the_train_tab_line_is_the_job_line_until_a_loss_then_steps_and_loss():
    from finescale.app.selection import TrainRequest
    from finescale.app.tabs.train import TrainTab

    tab = TrainTab(request=TrainRequest())
    tab.job.label = "Training **unet** for area1 JJA"
    job = jobs.Job("train")
    assert tab._describe(job) == tab.job.default_line(job) == "Training **unet** for area1 JJA …"
    job.on_event({"event": "step", "step": 3, "total": 40, "eta_s": 12.0, "loss": 0.25})
    assert tab._describe(job) == "Step 3/40, loss 0.2500, ETA 12 s"
