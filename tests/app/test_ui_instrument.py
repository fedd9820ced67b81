"""Browser tests of the dashboard as an instrument: large geographic maps, the point and box
probe, the swipe, two checkpoints side by side, the seasonal figures — and never a
traceback on the page or in the server's log."""

from __future__ import annotations

import math

import pytest

from tests.app.conftest import SERVER_LOGS, SHOTS
from tests.app.test_ui_dashboard import (
    WAIT,
    _map_box,
    _open,
    _painted,
    _select,
    _wait_canvases,
)

pytestmark = pytest.mark.ui
FRAME = """n => { const fig = Bokeh.documents[0].get_model_by_name(n);
  const f = Bokeh.index.find_one(fig).frame.bbox;
  return [f.width, f.height, fig.x_range.start, fig.x_range.end, fig.y_range.start,
          fig.y_range.end] }"""
HAS_IMAGE = "n => { const m = Bokeh.documents[0].get_model_by_name(n); " \
            "return !!(m && m.data.image && m.data.image[0].length) }"


def _tab(page, name: str) -> None:
    page.locator(".bk-tab", has_text=name).first.click()


def _clean(server: str, page) -> None:
    assert page.errors == []
    assert "Traceback" not in page.content()
    assert "Traceback" not in SERVER_LOGS[server].read_text()


def _ground_ratio(page, name: str) -> float:
    """Kilometres per pixel across over kilometres per pixel up the map's frame: 1 when the
    map has the region's geographic aspect (cos-latitude)."""
    fw, fh, x0, x1, y0, y1 = page.evaluate(FRAME, name)
    return (x1 - x0) * math.cos(math.radians(0.5 * (y0 + y1))) / fw / ((y1 - y0) / fh)


def _wait(page, predicate, what: str) -> None:
    for _ in range(WAIT // 250):
        if predicate():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"timed out waiting for {what}")


def _click_until(page, x: float, y: float, selector: str) -> None:
    """Click (x, y) until ``selector`` shows. On a loaded machine a click can land before the
    map's tap handler is wired and is then lost; the same click again is harmless."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(WAIT // 10_000):
        page.mouse.click(x, y)
        try:
            page.wait_for_selector(selector, timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"no {selector} after clicking ({x:.0f}, {y:.0f}) for {WAIT} ms")


def _open_diffusion(page, server: str) -> None:
    """The page with the fixture's area1 diffusion model on screen."""
    _open(page, server)
    _select(page, "Region", "area1")
    _select(page, "Model", "diffusion")
    page.wait_for_selector("text=/^Showing diffusion · area1/", timeout=WAIT)


def test_maps_are_large_and_geographic_at_any_width(server, page):
    page.set_viewport_size({"width": 1600, "height": 1000})
    _open(page, server)
    widths = [_map_box(page, n)["width"] for n in ("coarse", "generated", "truth")]
    assert min(widths) >= 330, widths  # three map frames (347 px) beside the sidebar
    for width in (1600, 1250):
        page.set_viewport_size({"width": width, "height": 1000})
        for name in ("coarse", "generated", "truth", "diff"):  # the layout settles, then
            _wait(page, lambda n=name: abs(_ground_ratio(page, f"figure-{n}") - 1) < 0.02,
                  f"{name}'s geographic aspect at {width} px")  # stays
    page.set_viewport_size({"width": 1600, "height": 1000})
    _painted(page)
    page.screenshot(path=str(SHOTS / "geographic.png"))
    _clean(server, page)


def test_probe_a_point_and_a_box(server, page):
    _open_diffusion(page, server)
    _painted(page)
    canvas = _map_box(page, "generated")
    _click_until(page, canvas["x"] + 0.5 * canvas["width"], canvas["y"] + 0.5 * canvas["height"],
                 "text=/Probe: point .*°N/")
    # the members of the days around the day are generated for the series, then drawn
    page.wait_for_selector("text=/Generating \\d+ days around/", state="detached",
                           timeout=3 * WAIT)
    _painted(page)
    page.screenshot(path=str(SHOTS / "probe_point.png"))
    # drag a box with the box-select tool of the generated map's toolbar
    page.locator(".bk-tool-icon-box-select").nth(1).click()
    x, y, w, h = canvas["x"], canvas["y"], canvas["width"], canvas["height"]
    page.mouse.move(x + 0.35 * w, y + 0.35 * h)
    page.mouse.down()
    page.mouse.move(x + 0.55 * w, y + 0.6 * h, steps=8)
    page.mouse.up()
    page.wait_for_selector("text=/Scores of the box of \\d+ cells/", timeout=WAIT)
    _painted(page)
    page.screenshot(path=str(SHOTS / "probe_box.png"))
    _clean(server, page)


def test_swipe_and_two_checkpoints(server, page):
    _open_diffusion(page, server)
    _tab(page, "Compare")
    _wait(page, lambda: page.evaluate(HAS_IMAGE, "map-swipe-left")
          and page.evaluate(HAS_IMAGE, "map-swipe-right"), "the swipe's two maps")
    _select(page, "Left", "member 0")
    _select(page, "Right", "model unet")  # another model: generated for the swipe
    title = "() => Bokeh.documents[0].get_model_by_name('figure-swipe-right').title.text"
    _wait(page, lambda: page.evaluate(title) == "member 0 ◀ ▶ model unet",
          "the swipe of member 0 and the U-Net")
    page.screenshot(path=str(SHOTS / "swipe.png"))
    a = page.locator("label:has-text('Checkpoint A') ~ select option").all_inner_texts()
    assert len(a) >= 2 and all(t.startswith("area1-JJA-") for t in a)
    page.get_by_role("button", name="Compare on this day").click()
    page.wait_for_selector("text=/^A: area1-JJA-/", timeout=3 * WAIT)
    assert page.locator("text=/^B: area1-JJA-/").count() == 1
    assert page.evaluate(HAS_IMAGE, "map-ckpt-0") and page.evaluate(HAS_IMAGE, "map-ckpt-1")
    _painted(page)
    page.screenshot(path=str(SHOTS / "checkpoints.png"))
    _clean(server, page)


def test_seasonal_figures_from_a_live_evaluation(server, page):
    _open(page, server)
    _select(page, "Region", "area1")
    page.wait_for_selector("text=/^Showing .* area1/", timeout=WAIT)
    _tab(page, "Seasonal")
    page.wait_for_selector("text=/every model on its test days/", timeout=WAIT)
    page.get_by_role("button", name="Evaluate this season now").click()
    page.wait_for_selector("text=/curves from a live evaluation/", timeout=4 * WAIT)
    _wait_canvases(page, 5)  # semivariogram, spectrum, ACF, PACF, lead skill
    # each model's bootstrap interval and, beside diffusion, the verdicts of its claims
    assert page.locator("text=R² 95 %").count() >= 1
    assert page.locator("text=/^(holds|fails|undecided) · /").count() >= 1
    # the note says what these rows compare: a live evaluation has the size-fair claims
    assert page.locator("text=/infinitely many members/").count() == 1
    assert page.locator("text=/predates the size-fair claims/").count() == 0
    _painted(page)
    page.screenshot(path=str(SHOTS / "seasonal.png"))
    _clean(server, page)
