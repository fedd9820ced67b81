"""Background jobs: results, errors and the wake-up call when they end."""

from __future__ import annotations

import threading

from app import jobs
from data.errors import FinescaleError


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
