"""Serving the dashboard to a headless browser, for the browser tests and the page
benchmarks (``scripts/bench_ui.py``, ``scripts/load_test.py``): a ``panel serve`` child on a
free loopback port, waited for over HTTP, and the page actions they share."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from finescale.app.serve import MAIN

CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 600_000
MONTHS = {"DJF": "-(12|01|02)-", "MAM": "-(03|04|05)-", "JJA": "-(06|07|08)-",
          "SON": "-(09|10|11)-"}


def chromium_path() -> str:
    return shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, script: Path = MAIN
                 ) -> subprocess.Popen:
    """``panel serve SCRIPT`` (default the dashboard) on 127.0.0.1:port as a child process.

    Its output goes to a temporary file (``proc.log``), not a pipe: a pipe nobody reads
    blocks the server once it holds 64 KB of log."""
    log = tempfile.NamedTemporaryFile(prefix="finescale-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", str(script), "--address",
         "127.0.0.1", "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}"],
        # the dashboard offers the seconds-long test preset to the tests' servers only
        env={**os.environ, "FINESCALE_TEST_PRESET": "1", **env}, stdout=log,
        stderr=subprocess.STDOUT)
    log.close()
    proc.log = Path(log.name)
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server from :func:`start_server` (hard if a background job keeps it busy) and
    remove its log."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    log = getattr(proc, "log", None)
    if log is not None:
        log.unlink(missing_ok=True)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 240) -> float:
    """Seconds until ``url`` answers 200; the server's output in the error if it never does."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            if urllib.request.urlopen(url, timeout=60).status == 200:
                return time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    proc.wait(10)
    log = getattr(proc, "log", None)
    out = log.read_text(errors="replace") if log is not None else ""
    raise RuntimeError(f"panel serve did not come up at {url}: {out[-2000:]}")


def page_ready(page, url: str) -> float:
    """Seconds from navigation to the status line and three drawn map canvases."""
    t0 = time.perf_counter()
    page.goto(url, timeout=WAIT_MS)
    first = page.wait_for_selector("text=/^(Showing|⚠️|finescale:|finescale could not)/",
                                   timeout=WAIT_MS)
    if not first.inner_text().startswith("Showing"):  # an error on the page: say it, stop
        raise RuntimeError(f"the dashboard shows an error: {first.inner_text()}")
    while page.locator(".bk-Canvas").count() < 3:
        page.wait_for_timeout(20)
    return time.perf_counter() - t0


def select(page, label: str, value: str) -> None:
    page.locator(f"label:has-text('{label}') ~ select").first.select_option(value)


def pick_date(page, day: str) -> None:
    """Pick ``day`` as the date picker's calendar does (its text field is read-only)."""
    page.locator("input.flatpickr-input").first.evaluate(
        f"e => e._flatpickr.setDate('{day}', true)")


def redraw(page, action: Callable[[], None], expect: str) -> float:
    """Seconds from a widget change until the status line shows ``expect`` (regex)."""
    t0 = time.perf_counter()
    action()
    page.wait_for_selector(f"text=/^Showing .*{expect}/", timeout=WAIT_MS)
    return time.perf_counter() - t0


def print_json(res: dict, out: Path | None) -> None:
    """A benchmark's result on stdout, and in ``out`` when given (the UI benchmarks'
    ``--out``)."""
    text = json.dumps(res, indent=1)
    print(text)
    if out:
        out.write_text(text + "\n")
