"""Browser tests in headless Debian chromium: the dashboard as a user drives it."""

from __future__ import annotations

import re

import pytest

from tests.app.conftest import SHOTS

pytestmark = pytest.mark.ui
WAIT = 90_000


def _open(page, server):
    page.goto(server, timeout=WAIT)
    page.wait_for_selector("text=Showing", timeout=WAIT)
    _wait_canvases(page, 3)


def _wait_canvases(page, n: int) -> None:
    """Bokeh draws into shadow DOM: Playwright's locators pierce it, querySelector does not."""
    for _ in range(WAIT // 500):
        if page.locator(".bk-Canvas").count() >= n:
            page.wait_for_timeout(800)
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"fewer than {n} canvases rendered")


def _select(page, label: str, value: str) -> None:
    page.locator(f"label:has-text('{label}') + select, label:has-text('{label}') ~ select"
                 ).first.select_option(value)
    page.wait_for_timeout(700)  # let the server apply the change before the next action


def _status(page) -> str:
    return page.locator("text=/^(Showing|Generating|⚠️)/").first.inner_text()


def test_page_loads_and_maps_render(server, page):
    _open(page, server)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "maps.png"))
    assert page.errors == []
    assert "Showing" in _status(page)


def test_season_change_updates_the_maps(server, page):
    _open(page, server)
    before = _status(page)
    _select(page, "Season", "DJF")
    page.wait_for_selector("text=/Showing .* 200[5-7]-(12|01|02)-/", timeout=WAIT)
    assert _status(page) != before
    page.screenshot(path=str(SHOTS / "season_djf.png"))
    page.get_by_text("Diagnostics", exact=True).first.click()
    page.wait_for_selector("text=Roll out 30 days", timeout=WAIT)
    _wait_canvases(page, 7)  # variogram, spectrum, ACF, PACF, scatter on top of the maps
    page.screenshot(path=str(SHOTS / "diagnostics.png"))
    assert page.errors == []


def test_training_from_the_ui_adds_a_model(server, page):
    _open(page, server)
    _select(page, "Region", "area0")
    page.get_by_text("Train", exact=True).first.click()
    _select(page, "Stage", "unet")
    _select(page, "Preset", "test")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_selector("text=/Saved .*area0-.*-unet/", timeout=4 * WAIT)
    page.screenshot(path=str(SHOTS / "trained.png"))
    options = page.locator("label:has-text('Model') ~ select option").all_inner_texts()
    assert "unet" in options
    _select(page, "Model", "unet")
    page.wait_for_selector("text=/Showing unet/", timeout=WAIT)
    assert page.errors == []


def test_bad_checkpoint_shows_a_notification(server, page):
    _open(page, server)
    _select(page, "Region", "area1")
    _select(page, "Model", "diffusion")
    _select(page, "Season", "DJF")  # the season's model in the user folder is damaged
    toast = page.wait_for_selector(".notyf__toast", timeout=WAIT)
    assert re.search("does not match its manifest", toast.inner_text())
    page.screenshot(path=str(SHOTS / "bad_checkpoint.png"))
    assert "Traceback" not in page.content()
