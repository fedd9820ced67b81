"""Serve the dashboard in a subprocess and drive it with Debian's headless chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import (
    CHROME_ARGS,
    chromium_path,
    free_port,
    start_server,
    stop_server,
    wait_http,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = chromium_path()
SERVER_LOGS: dict[str, Path] = {}  # url → the server's log file (tests look for tracebacks)
SHOTS = Path(os.environ.get("FINESCALE_SCREENSHOTS", ROOT / "tests" / "screenshots"))


@pytest.fixture(scope="session")
def user_dir(ckpts, tmp_path_factory) -> Path:
    """A checkpoint folder with the fixture's area1 JJA models and one damaged file."""
    d = tmp_path_factory.mktemp("user-ckpt")
    for p in ckpts.values():
        shutil.copy(p, d / p.name)
        shutil.copy(p.with_suffix(".json"), d / p.with_suffix(".json").name)
    bad = d / "area1-DJF-diffusion.safetensors"
    raw = bytearray(ckpts["diffusion"].read_bytes())
    raw[-10] ^= 0xFF
    bad.write_bytes(bytes(raw))
    m = ckpts["diffusion"].with_suffix(".json").read_text().replace('"JJA"', '"DJF"')
    bad.with_suffix(".json").write_text(m)
    return d


@pytest.fixture(scope="session")
def server(small_dir: Path, user_dir: Path) -> Iterator[str]:
    port = free_port()
    proc = start_server({"FINESCALE_DATA": str(small_dir),
                         "FINESCALE_CHECKPOINTS": str(user_dir)}, port)
    url = f"http://127.0.0.1:{port}/main"
    wait_http(url, proc)
    SERVER_LOGS[url] = proc.log
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian chromium not found at {CHROMIUM}: install it (see README)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1500, "height": 950})
    pg = ctx.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
    yield pg
    ctx.close()
