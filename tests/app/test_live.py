"""Live map panes: a new day changes the figures on the page in place."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
import xarray as xr
from bokeh.models import ColorBar, ColumnDataSource, Label, Plot, Title

from finescale.app.live import LiveMaps
from finescale.app.plots import shared_clim


def _field(value: float, n: int = 24) -> xr.DataArray:
    rng = np.random.default_rng(int(value * 10))
    v = value * np.exp(0.1 * rng.standard_normal((n, n)))
    return xr.DataArray(v, dims=("lat", "lon"),
                        coords={"lat": np.linspace(30, 40, n), "lon": np.linspace(70, 80, n)})


def _fields(value: float, truth: bool = True) -> dict:
    g = _field(value)
    return {"coarse": _field(value).isel(lat=slice(None, None, 4), lon=slice(None, None, 4)),
            "generated": g, "truth": _field(value * 1.1) if truth else None}


def _clim(f: dict) -> tuple[float, float]:
    return shared_clim(f["coarse"], f["generated"], f["truth"], log=True)


def _titles(day: str) -> dict[str, str]:
    return {"coarse": f"coarse {day}", "generated": f"gen {day}", "truth": f"truth {day}",
            "no_truth": f"no G5NR on {day}"}


def _figures(root) -> list[Plot]:
    return [p for p in root.select({"type": Plot}) if p.select({"type": ColumnDataSource})]


def _by_title(root) -> dict[str, np.ndarray]:
    """Each figure's image, keyed by the figure's title (select() has no layout order)."""
    out = {}
    for fig in _figures(root):
        for r in fig.renderers:  # its own glyphs (select() also reaches the group's other
            # maps, through the aspect callback they share)
            if "image" in r.data_source.data:
                out[fig.title.text] = np.asarray(r.data_source.data["image"][0])
    return out


def _texts(root) -> list[str]:
    return [label.text for label in root.select({"type": Label})]


def test_a_new_day_updates_the_same_figures(document):
    live = LiveMaps(_fields(0.2), _titles("d1"), _clim(_fields(0.2)), log=True)
    root = live.layout.get_root(document)
    figs = _figures(root)
    before = _by_title(root)
    assert len(figs) == 4 and len(before) == 4
    live.show(_fields(0.6), _titles("d2"), _clim(_fields(0.6)))
    assert _figures(root) == figs  # no new Bokeh figures for the browser to build
    after = _by_title(root)
    for name in ("coarse", "gen", "truth"):
        assert np.nanmean(after[f"{name} d2"]) > 2 * np.nanmean(before[f"{name} d1"])
    titles = {t.text for t in root.select({"type": Title})}
    assert {"coarse d2", "gen d2", "truth d2"} <= titles and "gen d1" not in titles
    bars = {type(b.color_mapper).__name__: b.color_mapper for b in root.select({"type": ColorBar})}
    assert set(bars) == {"LogColorMapper", "LinearColorMapper"}  # shared scale + difference
    assert 0.3 < bars["LogColorMapper"].low < bars["LogColorMapper"].high < 1.5  # moved along


def test_each_map_draws_its_coastlines_and_borders_with_one_renderer(document):
    from bokeh.models import GlyphRenderer, MultiLine

    live = LiveMaps(_fields(0.2), _titles("d1"), _clim(_fields(0.2)), log=True)
    root = live.layout.get_root(document)
    for fig in _figures(root):
        lines = [r for r in fig.renderers
                 if isinstance(r, GlyphRenderer) and isinstance(r.glyph, MultiLine)]
        assert len(lines) == 1 and len(fig.renderers) == 2  # the image and the lines
        data = lines[0].data_source.data
        # halo under core, coastlines and borders each: the light cores come last
        assert len(data["xs"]) == 4 and data["color"][2:] == ["#f2f2f2", "#f2f2f2"]
        assert data["width"][0] > data["width"][2] and data["dash"][3]  # borders dashed
        assert len(data["xs"][1]) > 10  # borders cross this box
        for halo, core in ((0, 2), (1, 3)):  # the same lines, twice
            np.testing.assert_array_equal(data["xs"][halo], data["xs"][core])


def test_a_day_without_truth_says_so_on_the_truth_and_difference_maps(document):
    live = LiveMaps(_fields(0.2), _titles("d1"), _clim(_fields(0.2)), log=True)
    root = live.layout.get_root(document)
    assert not any(_texts(root))
    live.show(_fields(0.3, truth=False), _titles("d9"), _clim(_fields(0.3, truth=False)))
    texts = _texts(root)
    assert "no G5NR on d9" in texts and any("no difference" in t for t in texts)
    img = _by_title(root)
    assert np.isnan(img["truth d9"]).all()
    assert np.isnan(img["generated − truth (log10 AOT)"]).all()
    assert np.isfinite(img["gen d9"]).all()
    # truth again: the message goes
    live.show(_fields(0.3), _titles("d10"), _clim(_fields(0.3)))
    assert not any(_texts(root))


def test_a_zoom_in_the_browser_reaggregates_every_map_for_the_new_view(document, monkeypatch):
    from bokeh.events import RangesUpdate

    import finescale.app.live as live_mod
    from finescale.app.plots import raster

    live = LiveMaps(_fields(0.2), _titles("d1"), _clim(_fields(0.2)), log=True)
    root = live.layout.get_root(document)
    fig = _figures(root)[0]
    whole = _by_title(root)
    shapes = {title.split()[0]: img.shape for title, img in whole.items()}
    assert shapes == {"coarse": (6, 6), "gen": (24, 24), "truth": (24, 24),  # cells < px
                      "generated": (24, 24)}
    # zoom to lon 72–75, lat 33–36 (about 7 × 7 cells of 0.43°) in one map
    fig._trigger_event(RangesUpdate(fig, x0=72.0, x1=75.0, y0=33.0, y1=36.0))  # as the server
    zoomed = {title.split()[0]: img.shape for title, img in _by_title(root).items()}
    assert zoomed == {"coarse": (2, 2), "gen": (7, 7), "truth": (7, 7),  # the cells in view
                      "generated": (7, 7)}
    for m in live.maps.values():
        assert m.source.data["x"] == [72.0] and m.source.data["dw"] == [3.0]
        assert (m.text.x, m.text.y) == (73.5, 34.5)  # a message stays in view
    # Bokeh reports one pan/zoom from every linked figure: the maps are aggregated once
    calls = []
    monkeypatch.setattr(live_mod, "raster", lambda *a: calls.append(a) or raster(*a))
    for f in _figures(root):
        f._trigger_event(RangesUpdate(f, x0=72.5, x1=75.0, y0=33.0, y1=36.0))
    assert len(calls) == len(live.maps)
    # the next day is drawn for the view on screen, not the whole box
    live.show(_fields(0.6), _titles("d2"), _clim(_fields(0.6)))
    assert _by_title(root)["gen d2"].shape == (24, 24)  # (the ranges were not synced here)
    live.group.x_range.update(start=72.0, end=75.0)
    live.group.y_range.update(start=33.0, end=36.0)
    live.show(_fields(0.6), _titles("d3"), _clim(_fields(0.6)))
    assert _by_title(root)["gen d3"].shape == (7, 7)


@pytest.fixture
def document():
    from bokeh.document import Document

    return Document()


def test_the_dashboard_redraws_a_new_date_in_place(small, ckpts):
    import datetime as dt

    from finescale.app.dashboard import Dashboard
    from finescale.app.selection import TrainRequest
    from finescale.app.service import open_selection

    s = open_selection(small, (ckpts["diffusion"].parent,))
    s.region, s.model = "area1", "interp:bilinear"
    board = Dashboard(selection=s, train=TrainRequest())
    maps = board.pages["Maps"]
    live, shown = maps.live, list(maps.pane.objects)
    s.date = dt.date(2006, 7, 4)
    assert maps.live is live and maps.pane.objects == shown
    assert "2006-07-04" in board.status.object
    s.log_scale = False  # another colour mapper: new figures
    assert maps.live is not live and maps.live is maps.built["_area1", False]
    s.region = "area0"  # another region: new figures, on its own box
    area0 = maps.live
    assert area0 not in (live,) and area0 is maps.built["_area0", False]
    s.region, s.log_scale = "area1", True  # back: the figures already built, not new ones
    assert maps.live is live and maps.pane.objects == shown
    assert maps.built == {("_area1", True): live, ("_area1", False): maps.built["_area1", False],
                          ("_area0", False): area0}


def test_the_ensemble_tab_is_drawn_when_opened_with_the_shown_day(small, ckpts):
    import datetime as dt

    from finescale.app.dashboard import Dashboard
    from finescale.app.selection import TrainRequest
    from finescale.app.service import open_selection

    s = open_selection(small, (ckpts["diffusion"].parent,))
    s.region, s.model, s.members = "area1", "diffusion", 2
    board = Dashboard(selection=s, train=TrainRequest())
    ens = board.pages["Ensemble"]
    assert not any(isinstance(o, pn.pane.Bokeh) for o in ens.pane.objects)
    board.tabs.active = list(board.pages).index("Ensemble")
    caption, spread, gallery = ens.pane.objects
    assert "2 members" in caption.object
    assert isinstance(spread[0], pn.pane.Bokeh)  # the std map (not "needs ≥ 2 members")
    assert len(gallery.objects) == 2  # one map per member
    built, figures = ens.maps, [m.figure for m in ens.maps.group.maps.values()]
    before = ens.maps.members[0].frame.field
    s.date = s.date + dt.timedelta(days=1)  # a new day: new data in the same figures
    assert ens.maps is built and ens.pane.objects == [caption, spread, gallery]
    assert [m.figure for m in ens.maps.group.maps.values()] == figures
    assert str(s.date) in caption.object
    assert not np.array_equal(ens.maps.members[0].frame.field, before)
    s.members = 3  # another ensemble shape: a gallery of three
    assert ens.maps is not built and len(ens.pane.objects[2].objects) == 3
    s.members = 2  # back: the gallery of two already built
    assert ens.maps is built and ens.pane.objects[2] is gallery


def test_the_seasonal_tab_is_not_redrawn_for_a_new_day(small, ckpts):
    import datetime as dt

    from finescale.app.dashboard import Dashboard
    from finescale.app.selection import TrainRequest
    from finescale.app.service import open_selection

    s = open_selection(small, (ckpts["diffusion"].parent,))
    s.region, s.model = "area1", "interp:bilinear"
    board = Dashboard(selection=s, train=TrainRequest())
    season = board.pages["Seasonal"]
    board.tabs.active = list(board.pages).index("Seasonal")
    shown = list(season.pane.objects)
    assert "area1 · JJA" in shown[0].object
    s.date = dt.date(2006, 7, 4)  # the season's tables and curves do not change
    assert season.pane.objects == shown and all(
        a is b for a, b in zip(season.pane.objects, shown, strict=True))
    s.season = "DJF"
    assert "area1 · DJF" in season.pane.objects[0].object


def test_a_cached_choice_is_drawn_at_once_without_a_background_job(small, ckpts,
                                                                   monkeypatch):
    import datetime as dt

    from finescale.app import jobs
    from finescale.app.dashboard import Dashboard
    from finescale.app.selection import TrainRequest
    from finescale.app.service import open_selection

    def explorer():
        s = open_selection(small, (ckpts["diffusion"].parent,))
        s.region, s.model = "area1", "interp:bilinear"
        return s

    Dashboard(selection=explorer(), train=TrainRequest())  # generates (and caches) the day
    started, start = [], jobs.start
    monkeypatch.setattr(jobs, "start", lambda *a, **k: started.append(a[0]) or start(*a, **k))
    board = Dashboard(selection=explorer(), train=TrainRequest())  # a second visitor
    assert started == [] and board.pages["Maps"].live is not None  # in the first document
    assert board.status.object.startswith("Showing **interp:bilinear · area1")
    board.selection.date = dt.date(2006, 7, 9)  # not cached: generated in the background
    assert started == ["generate"] and "2006-07-09" in board.status.object


def test_hovering_a_map_reads_three_significant_digits(document):
    """A spread of 1.2e-4 must not read "0.0001": the value's tooltip is %.3g."""
    from bokeh.models import HoverTool

    live = LiveMaps(_fields(0.2), _titles("d1"), _clim(_fields(0.2)), log=True)
    root = live.layout.get_root(document)
    hovers = list(root.select({"type": HoverTool}))
    assert len(hovers) == 4
    for h in hovers:
        assert h.tooltips[2][1] == "@image{%.3g}" and h.formatters == {"@image": "printf"}
