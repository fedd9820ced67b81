"""Browser tests in headless Debian chromium: the dashboard as a user drives it."""

from __future__ import annotations

import re
import time

import pytest

from tests.app.conftest import SHOTS

pytestmark = pytest.mark.ui
WAIT = 90_000


def _open(page, server):
    page.goto(server, timeout=WAIT)
    page.wait_for_selector("text=Showing", timeout=WAIT)
    _wait_canvases(page, 3)


# the view on the page: a region change leaves the old figures, same names, in the document
MAP_BOX = """n => { const v = [...Bokeh.index.query(v => v.model.name == n)]
    .find(v => v.el.isConnected && v.canvas_view.el.getBoundingClientRect().width > 0);
  const c = v.canvas_view.el.getBoundingClientRect(), f = v.frame.bbox;
  return {x: c.left + f.left, y: c.top + f.top, width: f.width, height: f.height} }"""


def _map_box(page, name: str) -> dict:
    """The page box of a map's frame (the image, no axes), found by the figure's name:
    sturdier than counting canvases, whose order other plots on the page can change."""
    return page.evaluate(MAP_BOX, f"figure-{name}")


def _painted(page) -> None:
    """Wait until the browser has painted what it was sent (two animation frames: the
    frame that lays out the new models, and the one that paints them)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _wait_canvases(page, n: int) -> None:
    """Bokeh draws into shadow DOM: Playwright's locators pierce it, querySelector does not."""
    deadline = time.monotonic() + WAIT / 1000
    while page.locator(".bk-Canvas").count() < n:
        assert time.monotonic() < deadline, f"fewer than {n} canvases rendered"
        page.wait_for_timeout(100)  # a poll of the page's state, not a wait for a time
    _painted(page)


URL_KEYS = {"Region": "region", "Season": "season", "Model": "model"}  # app/links.py


def _select(page, label: str, value: str) -> None:
    """Pick ``value`` in a select. Choices the page keeps in its URL are applied by the
    server when the URL says so; any other change reaches the server before the next
    action does (one websocket, in order), so nothing is waited for."""
    page.locator(f"label:has-text('{label}') + select, label:has-text('{label}') ~ select"
                 ).first.select_option(value)
    key = URL_KEYS.get(label)
    if key is not None:
        page.wait_for_function("([k, v]) => new URLSearchParams(location.search).get(k) === v",
                               arg=[key, value], timeout=WAIT)


def _status(page) -> str:
    return page.locator("text=/^(Showing|Generating|⚠️)/").first.inner_text()


def test_page_loads_and_maps_render(server, page):
    _open(page, server)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "maps.png"))
    assert page.errors == []
    assert "Showing" in _status(page)


def test_the_page_asks_nothing_of_other_hosts(server, browser):
    """Offline machines: every request (scripts, styles, fonts, tiles) goes to our server,
    and none is for a library the page does not use (MathJax 1.8 MB, Tabulator 0.5 MB)."""
    ctx = browser.new_context(viewport={"width": 1500, "height": 950})
    pg = ctx.new_page()
    urls: list[str] = []
    pg.on("request", lambda r: urls.append(r.url))
    _open(pg, server)
    ctx.close()
    origin = re.match(r"https?://[^/]+", server).group(0)
    assert len(urls) > 10  # the page, Bokeh, Panel, CSS ...
    assert [u for u in urls if not u.startswith((origin, "blob:", "data:"))] == []
    assert [u for u in urls if re.search("mathjax|tabulator", u, re.I)] == []


def test_zooming_a_map_redraws_every_map_for_the_view(server, page):
    _open(page, server)
    width = "n => Bokeh.documents[0].get_model_by_name(n).data.dw[0]"  # the image's extent
    whole = {n: page.evaluate(width, f"map-{n}") for n in ("coarse", "generated", "truth")}
    box = _map_box(page, "generated")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(6):  # wheel zoom in (the maps' active scroll tool)
        page.mouse.wheel(0, -150)
        page.wait_for_timeout(60)  # paces the wheel events like a hand; the result is polled
    for _ in range(WAIT // 250):  # the server re-aggregates when the browser reports the view
        zoomed = {n: page.evaluate(width, f"map-{n}") for n in whole}
        if all(zoomed[n] < 0.9 * whole[n] for n in whole):
            break
        page.wait_for_timeout(250)
    assert all(zoomed[n] < 0.9 * whole[n] for n in whole), (whole, zoomed)
    assert len(set(zoomed.values())) == 1  # one linked view
    page.screenshot(path=str(SHOTS / "zoomed.png"))
    assert page.errors == []


def test_ensemble_tab_shows_spread_and_members(server, page):
    _open(page, server)
    _select(page, "Region", "area1")
    _select(page, "Model", "diffusion")
    page.wait_for_selector("text=/^Showing diffusion · area1/", timeout=WAIT)
    page.get_by_text("Ensemble", exact=True).first.click()  # drawn when opened
    page.wait_for_selector("text=/Ensemble of 2 members · diffusion/", timeout=WAIT)
    assert page.get_by_text("Spread needs").count() == 0
    _wait_canvases(page, 3)  # spread map and one map per member (2 by default)
    _painted(page)
    page.screenshot(path=str(SHOTS / "ensemble.png"))
    # new days and a region's return reuse the figures: BokehJS 3.9 keeps every model the
    # server ever sent, so figures rebuilt per day would grow the page for good
    models = page.evaluate("() => Bokeh.documents[0].all_models.size")
    for day in ("2006-07-11", "2006-07-12"):
        page.locator("input.flatpickr-input").first.evaluate(
            f"e => e._flatpickr.setDate('{day}', true)")
        page.wait_for_selector(f"text=/Ensemble of 2 members · diffusion · {day}/",
                               timeout=WAIT)
    _select(page, "Region", "area0")  # no diffusion model there: bilinear, one member
    page.wait_for_selector("text=/^Showing .* · area0/", timeout=WAIT)
    _select(page, "Region", "area1")
    _select(page, "Model", "diffusion")
    page.wait_for_selector("text=/^Showing diffusion · area1/", timeout=WAIT)
    # a region change opens on its first fine day: the gallery shows another day
    page.wait_for_selector("text=/Ensemble of 2 members · diffusion · (?!2006-07-12)/",
                           timeout=WAIT)
    grown = page.evaluate("() => Bokeh.documents[0].all_models.size") - models
    area0 = 250  # the first visit's maps and gallery (~190 + ~40 models)
    assert grown < area0, grown
    assert page.errors == []


def test_season_change_updates_the_maps(server, page):
    _open(page, server)
    before = _status(page)
    _select(page, "Season", "DJF")
    page.wait_for_selector("text=/Showing .* 200[5-7]-(12|01|02)-/", timeout=WAIT)
    assert _status(page) != before
    day = re.search(r"\d{4}-\d\d-\d\d", _status(page)).group()
    page.wait_for_selector(f"text=/Animate DJF .*: {day}/", timeout=WAIT)  # player label
    page.screenshot(path=str(SHOTS / "season_djf.png"))
    page.get_by_text("Diagnostics", exact=True).first.click()
    page.wait_for_selector("text=Roll out 30 days", timeout=WAIT)
    _wait_canvases(page, 5)  # variogram, spectrum, ACF, PACF, scatter (only the open tab draws)
    page.screenshot(path=str(SHOTS / "diagnostics.png"))
    assert page.errors == []


def test_a_day_without_g5nr_says_so_on_the_truth_map(server, page):
    _open(page, server)
    _select(page, "Model", "interp:bilinear")
    page.wait_for_selector("text=/^Showing interp/", timeout=WAIT)
    # pick the day as the calendar does (the text field is read-only): a day of the coarse
    # record only, the fine record starts in 2005
    page.locator("input.flatpickr-input").first.evaluate(
        "e => e._flatpickr.setDate('2004-07-01', true)")
    page.wait_for_selector("text=/Showing .* 2004-07-01/", timeout=WAIT)
    _painted(page)  # the message is drawn on the truth map's canvas: look at it
    page.screenshot(path=str(SHOTS / "no_truth.png"))
    assert "R²" not in _status(page)  # no truth, no score
    # a day of another season stays the day picked (it once jumped to the new season's
    # first fine day: the date player's new options moved the date)
    page.locator("input.flatpickr-input").first.evaluate(
        "e => e._flatpickr.setDate('2006-01-11', true)")
    page.wait_for_selector("text=/Showing .* 2006-01-11/", timeout=WAIT)
    assert page.errors == []


def test_training_from_the_ui_adds_a_model(server, page):
    _open(page, server)
    _select(page, "Region", "area0")
    page.get_by_text("Train", exact=True).first.click()
    _select(page, "Stage", "unet")
    _select(page, "Preset", "test")
    for field, value in (("Epochs", "1"), ("Steps", "8")):  # a short run: the flow is tested
        box = page.locator(f"label:has-text('{field}') ~ div input").last  # the Train tab's
        box.fill(value)
        box.press("Enter")  # sent before the click below: one websocket, in order
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


def test_export_downloads_netcdf_and_png(server, page, tmp_path):
    import xarray as xr

    _open(page, server)
    page.get_by_text("Export", exact=True).first.click()
    with page.expect_download(timeout=WAIT) as nc:
        page.get_by_text("Download ensemble (NetCDF)").first.click()
    # named by what it holds (model · region · day · members), described on the tab
    assert re.fullmatch(r"finescale-[\w.-]+-area\d-\d{4}-\d\d-\d\d-\d+m\.nc",
                        nc.value.suggested_filename), nc.value.suggested_filename
    assert page.get_by_text("open with").count() >= 1
    path = tmp_path / "dl.nc"
    nc.value.save_as(path)
    ds = xr.open_dataset(path, engine="h5netcdf")
    assert ds.DUEXTTAU.dims == ("member", "time", "lat", "lon") and ds.sizes["time"] == 1
    assert "DUEXTTAU_truth" in ds and ds.attrs["Conventions"].startswith("CF")
    with page.expect_download(timeout=WAIT) as png:
        page.get_by_text("Download maps (PNG)").first.click()
    assert png.value.suggested_filename == nc.value.suggested_filename[:-3] + ".png"
    png.value.save_as(tmp_path / "dl.png")
    assert (tmp_path / "dl.png").read_bytes()[:4] == b"\x89PNG"
    assert page.errors == []


def test_two_sessions_are_independent_while_one_trains(server, browser):
    def new_page():
        ctx = browser.new_context(viewport={"width": 1500, "height": 950})
        pg = ctx.new_page()
        pg.errors = []  # type: ignore[attr-defined]
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
        return ctx, pg

    (ca, a), (cb, b) = new_page(), new_page()
    try:
        _open(a, server)
        _open(b, server)
        a.get_by_text("Train", exact=True).first.click()
        _select(a, "Stage", "unet")
        _select(a, "Preset", "test")
        epochs = a.locator("label:has-text('Epochs') ~ div input").first
        epochs.fill("60")
        epochs.press("Enter")
        a.get_by_role("button", name="Start training").click()
        a.wait_for_selector("text=/Step \\d+/", timeout=WAIT)
        # session B stays responsive and keeps its own state while A trains
        season_a = _status(a)
        _select(b, "Model", "interp:bilinear")  # exists for every season, whatever ran before
        _select(b, "Season", "DJF")
        b.wait_for_selector("text=/Showing .* 200[5-7]-(12|01|02)-/", timeout=3 * WAIT)
        assert _status(a) == season_a  # A's maps did not follow B's season
        assert a.locator("text=/Saved /").count() == 0  # B was served during A's training
        b.screenshot(path=str(SHOTS / "second_session.png"))
        a.get_by_role("button", name="Cancel").click()
        a.wait_for_selector("text=/cancelled/", timeout=WAIT)
        assert a.errors == [] and b.errors == []
    finally:
        cancel = a.get_by_role("button", name="Cancel")
        if cancel.count() and cancel.is_enabled():  # never leave a training running
            cancel.click()
        ca.close()
        cb.close()


def test_a_shared_link_opens_the_same_view(server, browser):
    """The page's choice and open tab are in its URL: changing them updates the URL, and
    that URL opened in another page shows the same region, season, day, model, members and
    tab."""
    ctx = browser.new_context(viewport={"width": 1500, "height": 950})
    pg = ctx.new_page()
    _open(pg, server)
    _select(pg, "Region", "area1")
    pg.wait_for_function("() => location.search.includes('region=area1')", timeout=WAIT)
    _select(pg, "Model", "unet")
    pg.wait_for_function("() => location.search.includes('model=unet')", timeout=WAIT)
    pg.wait_for_selector("text=/^Showing unet/", timeout=WAIT)
    pg.get_by_text("Diagnostics", exact=True).first.click()
    pg.wait_for_function("() => location.search.includes('tab=3')", timeout=WAIT)
    link = pg.url
    assert "region=area1" in link and re.search(r"date=\d{4}-\d{2}-\d{2}", link)
    status = _status(pg)
    ctx.close()
    other = browser.new_context(viewport={"width": 1500, "height": 950}).new_page()
    other.goto(link, timeout=WAIT)
    other.wait_for_selector("text=/^Showing unet/", timeout=WAIT)
    assert _status(other).split(" — ")[0] == status.split(" — ")[0]
    assert other.locator(".bk-tab.bk-active").first.inner_text() == "Diagnostics"
    # a link to another day opens that day
    other.goto(re.sub(r"date=[\d-]+", "date=2005-08-10", link), timeout=WAIT)
    other.wait_for_selector("text=/^Showing unet · area1 · 2005-08-10/", timeout=WAIT)
    other.context.close()


def test_a_link_this_data_cannot_show_says_so(server, browser):
    pg = browser.new_context(viewport={"width": 1500, "height": 950}).new_page()
    pg.goto(f"{server}?region=area1&model=no-such-model", timeout=WAIT)
    pg.wait_for_selector("text=/cannot be shown here/", timeout=WAIT)
    pg.wait_for_selector("text=/^Showing/", timeout=WAIT)  # and the page still works
    pg.context.close()
