"""A user's own imported dataset in the dashboard, as a newcomer drives it: a signed
variable (10-m wind) over the Sahel, no model yet → train the encoder and the diffusion
model in the Train tab → its generated map → the diagnostics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from finescale.data.importer import import_pair
from tests.app.conftest import SHOTS
from tests.app.test_ui_dashboard import WAIT, _painted, _select, _status, _wait_canvases
from tests.own_data import write_pair
from tests.servers import free_port, start_server, stop_server, wait_http

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def own_server(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("own")
    c, f = write_pair(root)
    data = import_pair(str(c / "*.nc"), str(f / "*.nc"), "u10", root / "sahel-data",
                       region_name="sahel")
    (root / "ckpt").mkdir()
    port = free_port()
    proc = start_server({"FINESCALE_DATA": str(data),
                         "FINESCALE_CHECKPOINTS": str(root / "ckpt")}, port)
    url = f"http://127.0.0.1:{port}/main"
    wait_http(url, proc)
    yield url
    stop_server(proc)


def _train(page, stage: str) -> None:
    _select(page, "Stage", stage)
    _select(page, "Preset", "test")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_selector(f"text=/Saved .*sahel-JJA-{stage}/", timeout=4 * WAIT)


def test_import_train_generate_and_diagnose_a_signed_variable(own_server, page):
    page.goto(own_server, timeout=WAIT)
    page.wait_for_selector("text=Showing", timeout=WAIT)
    _wait_canvases(page, 3)
    assert page.get_by_text("No trained model fits this dataset yet").first.is_visible()
    note = page.locator("text=/sahel-data .* u10/").first.inner_text()
    assert "transform standard" in note and "JJA" in note and "imported" in note
    assert "interp:bilinear · sahel" in _status(page) and "u10 [m s-1]" in _status(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "own_data_before.png"))

    page.get_by_text("Train", exact=True).first.click()
    _train(page, "encoder")
    _train(page, "diffusion")
    options = page.locator("label:has-text('Model') ~ select option").all_inner_texts()
    assert "diffusion" in options
    page.wait_for_selector("text=No trained model fits this dataset yet", state="hidden",
                           timeout=WAIT)
    _select(page, "Model", "diffusion")
    page.wait_for_selector("text=/^Showing diffusion · sahel · 2010-/", timeout=2 * WAIT)
    assert "R²" in _status(page)  # the day has fine truth: scored on u10 itself
    page.get_by_text("Maps", exact=True).first.click()
    _wait_canvases(page, 4)
    page.screenshot(path=str(SHOTS / "own_data_maps.png"))

    page.get_by_text("Diagnostics", exact=True).first.click()
    page.wait_for_selector("text=/Scores of this day \\(u10 \\[m s-1\\]\\)/", timeout=WAIT)
    _wait_canvases(page, 5)  # variogram, spectrum, ACF, PACF, scatter
    _painted(page)
    page.screenshot(path=str(SHOTS / "own_data_diagnostics.png"), full_page=True)
    assert page.errors == []
    assert "Traceback" not in page.content()


def test_own_data_status_names_the_variable(own_server, page):
    page.goto(own_server, timeout=WAIT)
    page.wait_for_selector("text=Showing", timeout=WAIT)
    assert "log10" not in _status(page)
    assert Path(SHOTS).exists()
