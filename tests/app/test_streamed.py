"""Plots updated in place: a new day sends new data to the same Bokeh figure."""

from __future__ import annotations

import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Plot

from finescale.app.plots import acf_plot
from finescale.app.streamed import StreamedPlot


def _series(a: float, with_coarse: bool = True) -> dict:
    t = np.arange(80)
    out = {"truth": a * np.sin(t / 5.0) + np.cos(t / 3.0)}
    if with_coarse:
        out["coarse"] = a * np.sin(t / 7.0)
    return out


def _curves(root) -> set:
    """The first values of every column the figure's sources hold."""
    return {tuple(np.round(np.asarray(v[:3], dtype=float), 6))
            for s in root.select({"type": ColumnDataSource}) for v in s.data.values()}


def _figure(root) -> Plot:
    (fig,) = [p for p in root.select({"type": Plot})]
    return fig


def test_a_plot_with_the_same_layers_is_updated_in_the_same_figure():
    plot = StreamedPlot(acf_plot)
    plot.show(_series(1.0), label="first")
    root = plot.pane.get_root(Document())
    fig = _figure(root)
    before = _curves(root)
    assert "first" in fig.title.text
    plot.show(_series(5.0), label="second")
    assert _figure(root) is fig  # the same figure ...
    assert _curves(root) != before and "second" in fig.title.text  # ... new curves, title


def test_another_set_of_layers_gets_a_new_figure():
    plot = StreamedPlot(acf_plot)
    plot.show(_series(1.0), label="x")
    first = plot.pane.object
    plot.show(_series(2.0), label="x")
    assert plot.pane.object is first
    plot.show(_series(2.0, with_coarse=False), label="x")  # a curve fewer: a new plot
    assert plot.pane.object is not first


def test_the_diagnostics_tab_updates_its_plots_for_a_new_day(small, ckpts):
    import datetime as dt

    from finescale.app.dashboard import Dashboard
    from finescale.app.selection import TrainRequest
    from finescale.app.service import open_selection

    s = open_selection(small, (ckpts["diffusion"].parent,))
    s.region, s.model = "area1", "interp:bilinear"
    s.date = dt.date(2006, 7, 3)
    board = Dashboard(selection=s, train=TrainRequest())
    diag = board.pages["Diagnostics"]
    board.tabs.active = list(board.pages).index("Diagnostics")
    objects = [id(o) for o in diag.pane.objects]
    plots = {name: getattr(diag, name).pane.object
             for name in ("variogram", "spectrum", "acf", "pacf", "scatter")}
    data = diag.variogram.pipe.data
    s.date = dt.date(2006, 7, 4)
    assert "2006-07-04" in diag.head.object
    assert [id(o) for o in diag.pane.objects] == objects  # the same panes ...
    assert {n: getattr(diag, n).pane.object for n in plots} == plots  # ... and plots
    assert diag.variogram.pipe.data is not data  # with the new day's curves
