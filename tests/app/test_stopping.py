"""Stopping a command (SIGTERM from a service manager, Ctrl-C's SIGINT) stops everything it
started: no process is left behind, no port held, nothing half-written."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.servers import free_port, wait_http

FINESCALE = str(Path(sys.executable).parent / "finescale")
SIGNALS = [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)]

pytestmark = pytest.mark.slow


def _default_sigint() -> None:
    # a suite started in the background by a script (`cmd &`) inherits SIGINT ignored, and so
    # would the command: give it Ctrl-C's default, as a terminal does
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "w") as fh:
        return subprocess.Popen([FINESCALE, *args], stdout=fh, stderr=subprocess.STDOUT,
                                env=env, preexec_fn=_default_sigint)


def _wait_for(cond, what: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"never saw {what}: {log.read_text()[-2000:]}")


def _stop_and_check(proc: subprocess.Popen, sig: int, code: int, log: Path) -> None:
    family = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running 20 s after {sig!r}") from None
    _, alive = psutil.wait_procs(family, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]
    assert rc == code, (rc, log.read_text()[-2000:])
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.mark.parametrize(("sig", "code"), SIGNALS)
def test_evaluate_with_workers_stops_them(sig, code, small_dir, ckpts, tmp_path):
    ck = tmp_path / "ck"
    ck.mkdir()
    for p in (ckpts["diffusion"], ckpts["unet"]):
        for q in (p, p.with_suffix(".json")):
            shutil.copy(q, ck / q.name)
    shutil.copy(ckpts["unet"], ck / "area1-DJF-unet.safetensors")  # a second pair → 2 workers
    (ck / "area1-DJF-unet.json").write_text(
        ckpts["unet"].with_suffix(".json").read_text().replace('"JJA"', '"DJF"'))
    out, log = tmp_path / "rep", tmp_path / "log"
    proc = _start(["evaluate", "--data", str(small_dir), "--checkpoints", str(ck), "--workers",
                   "2", "--members", "2", "--days", "30", "--out", str(out)], log)
    workers = lambda: len(psutil.Process(proc.pid).children()) >= 2  # noqa: E731
    _wait_for(workers, "two worker processes", proc, log)

    def scoring() -> bool:  # the workers have done real work: stopped mid-scoring
        kids = psutil.Process(proc.pid).children()
        return sum(k.cpu_times().user for k in kids) > 1.0

    _wait_for(scoring, "the workers scoring", proc, log)
    _stop_and_check(proc, sig, code, log)
    assert not out.exists() and not list(tmp_path.glob(".rep.tmp-*"))
    assert "stopped by SIGTERM" in log.read_text() or sig == signal.SIGINT


# train and generate go through the same CLI handler as evaluate and serve: one signal each
@pytest.mark.parametrize(("sig", "code"), SIGNALS[:1])
def test_train_stops_and_leaves_no_checkpoint(sig, code, small_dir, ckpts, tmp_path):
    out, log = tmp_path / "ck", tmp_path / "log"
    proc = _start(["train", "unet", "--data", str(small_dir), "--region", "area1", "--season",
                   "JJA", "--preset", "test", "--epochs", "200", "--encoder",
                   str(ckpts["encoder"]), "--out", str(out)], log)
    _wait_for(lambda: "unet area1 JJA" in log.read_text(), "training steps", proc, log)
    _stop_and_check(proc, sig, code, log)
    assert not (out / "area1-JJA-unet.safetensors").exists()
    assert "resumes from its last saved epoch" in log.read_text()


@pytest.mark.parametrize(("sig", "code"), SIGNALS[1:])
def test_generate_stops_and_leaves_no_file(sig, code, small_dir, ckpts, tmp_path):
    out, log = tmp_path / "g.nc", tmp_path / "log"
    proc = _start(["generate", "--data", str(small_dir), "--checkpoint", str(ckpts["diffusion"]),
                   "--start", "2006-06-01", "--end", "2006-08-31", "--members", "2",
                   "--out", str(out)], log)
    _wait_for(lambda: "generate diffusion" in log.read_text(), "generation", proc, log)
    _stop_and_check(proc, sig, code, log)
    assert not out.exists() and not list(tmp_path.glob(".g.nc*"))


@pytest.mark.parametrize(("sig", "code"), SIGNALS)
def test_serve_leaves_no_server_and_frees_the_port(sig, code, small_dir, tmp_path):
    """The server is the process `finescale serve` started as (exec): no child to orphan."""
    port, log = free_port(), tmp_path / "log"
    proc = _start(["serve", "--data", str(small_dir), "--port", str(port)], log)
    wait_http(f"http://127.0.0.1:{port}/main", proc)  # a page: the dashboard's jobs start
    assert psutil.Process(proc.pid).children(recursive=True) == []
    _stop_and_check(proc, sig, code, log)
    assert f"server stopped by {signal.Signals(sig).name}" in log.read_text()
    import socket

    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))
