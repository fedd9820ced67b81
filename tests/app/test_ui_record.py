"""Browsing a reconstruction store in the browser: ``finescale serve --record STORE``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from finescale.app.cli import main
from finescale.data.record import RecordLayout
from finescale.model.reconstruct import RecordConfig, reconstruct
from tests.app.conftest import SHOTS
from tests.app.test_ui_dashboard import WAIT, _select, _wait_canvases
from tests.servers import free_port, wait_http

pytestmark = pytest.mark.ui
FINESCALE = str(Path(sys.executable).parent / "finescale")


@pytest.fixture(scope="module")
def store(small, ckpts, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("record") / "area1.zarr"
    lay = RecordLayout("2005-07-20", "2005-07-31", members=2, segment_days=6, tile=32)
    return reconstruct(small, [ckpts["diffusion"]], RecordConfig(layout=lay, spinup=2), out,
                       progress=False)


@pytest.fixture(scope="module")
def record_url(store) -> Iterator[str]:
    port = free_port()
    log = store.parent / "serve.log"
    evidence = store.parent / "evidence"
    assert main(["evaluate", "--record", str(store), "--out", str(evidence)]) == 0
    with open(log, "w") as fh:
        proc = subprocess.Popen([FINESCALE, "serve", "--record", str(store), "--evidence",
                                 str(evidence), "--port", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}/main"
    wait_http(url, proc)
    yield url
    proc.terminate()
    proc.wait(20)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def _series(page) -> str:
    return page.locator("text=/^Series at/").first.inner_text()


def test_a_day_and_a_clicked_point(record_url, browser):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = ctx.new_page()
    errors, urls = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: urls.append(r.url))
    page.goto(record_url, timeout=WAIT)
    page.wait_for_selector("text=/^Series at/", timeout=WAIT)
    _wait_canvases(page, 4)  # coarse, ensemble mean, truth, series
    first = _series(page)
    box = page.locator(".bk-Canvas").nth(1).bounding_box()  # the ensemble-mean map
    page.mouse.click(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.3)
    for _ in range(60):
        if _series(page) != first:
            break
        page.wait_for_timeout(500)
    assert _series(page) != first, "the click did not move the point"
    assert re.search(r"\d+\.\d+°N, \d+\.\d+°E — 12 days, 2 members", _series(page))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "record.png"))
    # the per-year evidence (finescale evaluate --record): its table and its figure
    page.wait_for_selector("text=/Evidence per year/", timeout=WAIT)
    page.wait_for_selector("text=/0 flagged year\\(s\\) of 1/", timeout=WAIT)
    assert page.locator("table >> text=truth year (part of the reference)").count() == 1
    _select(page, "View", "climatology")
    page.wait_for_selector("text=/JJA climatology/", timeout=WAIT)
    _select(page, "View", "anomaly")
    page.wait_for_selector("text=/anomaly 2005-07-20 vs JJA climatology/", timeout=WAIT)
    assert errors == []
    origin = re.match(r"https?://[^/]+", record_url).group(0)
    assert [u for u in urls if not u.startswith((origin, "blob:", "data:"))] == []
    ctx.close()


def test_serve_refuses_what_is_not_a_record(small_dir, tmp_path, capsys):
    assert main(["serve", "--record", str(tmp_path / "none.zarr")]) == 2
    assert main(["serve", "--record", str(small_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "no reconstruction store" in err
    bad = tmp_path / "evidence"
    bad.mkdir()
    assert main(["serve", "--record", str(small_dir), "--evidence", str(bad)]) == 2
    assert main(["serve", "--evidence", str(bad)]) == 2
    assert main(["serve", "--report", str(bad)]) == 2  # --report goes with --record
    capsys.readouterr()


def test_serve_refuses_a_report_folder_without_its_metrics(store, tmp_path, capsys):
    assert main(["serve", "--record", str(store), "--report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path) in err and "metrics.json" in err


HELDOUT_REPORT = Path(__file__).parents[2] / "docs/runs/heldout/area0-JJA/report"


def test_the_regions_models_held_out_in_time_show_beside_the_record(store, tmp_path):
    """The browser shows how the store's region's models did on a season-year held out in
    time (a report's time-heldout rows of that region), or says there is no such check."""
    import json

    import holoviews.plotting.bokeh  # noqa: F401  the browser's options need the extension

    from finescale.app.record_view import RecordBrowser
    from finescale.data import record

    region = record.settings_of(record.open_record(store))["region"]
    rows = json.loads((HELDOUT_REPORT / "metrics.json").read_text())
    mine = tmp_path / "report"
    mine.mkdir()
    (mine / "metrics.json").write_text(json.dumps(
        [{**r, "region": region, "heldout_year": 2006} for r in rows]
        + [{**rows[0], "split": "test"}]))
    shown = RecordBrowser(store, reports=[mine]).sections[-1]
    table = shown[2].object
    assert len(table) == len(rows) and list(table["model"]) == [r["model"] for r in rows]
    assert {"rollout_days", "acf_error", "r2_inf"} <= set(table.columns)
    assert set(table["heldout_year"]) == {2006}  # which season-year, beside the season
    other = "area0" if region != "area0" else "area1"
    (mine / "metrics.json").write_text(json.dumps([{**r, "region": other} for r in rows]))
    for reports in ([mine], None):  # None: a store of its own weights, so no shipped report
        words = RecordBrowser(store, reports=reports).sections[-1][1].object
        assert f"No model of {region} was scored held out in time" in words


def test_the_shipped_report_goes_with_a_store_of_shipped_weights_only():
    import json

    from finescale.app.record_evidence_view import shipped_reports
    from finescale.data.resources import asset_dir
    from finescale.model.registry import SHIPPED_DIR

    hashes = {s: json.loads((SHIPPED_DIR / f"area0-{s}-distilled.json").read_text())[
        "weights_sha256"][:16] for s in ("DJF", "MAM", "JJA", "SON")}
    assert shipped_reports({"checkpoints": hashes}) == [asset_dir() / "report"]
    assert shipped_reports({"checkpoints": {**hashes, "JJA": "0" * 16}}) == []
    assert shipped_reports({}) == []


def test_the_point_series_labels_its_log_axis_within_the_data(store):
    """A point's series spans about a decade of a log variable, where Bokeh's own log ticker
    labels one tick: the browser gives 1-2-5 ticks inside the series' own range."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # the options need the extension loaded
    from bokeh.models import FixedTicker

    from finescale.app.record_view import RecordBrowser
    from finescale.data import record

    browser = RecordBrowser(store)
    ticker = hv.render(browser.series(), backend="bokeh").yaxis[0].ticker
    ser = record.point_series(browser.rec, *browser.point, None, None)
    lo = min(float(ser[k].min()) for k in ("low", "coarse"))
    hi = max(float(ser[k].max()) for k in ("high", "coarse"))
    assert isinstance(ticker, FixedTicker) and len(ticker.ticks) >= 2, ticker
    assert all(lo <= t <= hi for t in ticker.ticks), (lo, hi, ticker.ticks)


def test_the_evidence_table_shows_a_dash_where_a_year_has_no_truth(tmp_path):
    import json

    from finescale.app.record_evidence_view import EvidenceView

    stats = dict.fromkeys(("coarse_r2", "coarse_bias", "spread", "semivariance_short",
                           "lag1", "clipped"), 0.5)
    rows = [{"year": 2001, "level": "year", "source": "generated", "days": 365,
             "truth_days": 0, **stats, "r2": None, "crps": None, "flag": False, "reason": "ok"},
            {"year": 2005, "level": "year", "source": "generated", "days": 365,
             "truth_days": 231, **stats, "r2": 0.891, "crps": 0.118, "flag": False,
             "reason": "truth year"}]
    (tmp_path / "record.json").write_text(json.dumps(rows))
    html = EvidenceView(tmp_path).table()[1].get_root().text  # what the page gets
    assert "NaN" not in html and "nan" not in html and "—" in html and "0.891" in html
