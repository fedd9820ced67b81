"""Pure plot helpers: the datashader raster behind every map."""

from __future__ import annotations

import numpy as np
import xarray as xr

from finescale.app.plots import log_ticks, raster, spectrum_plot


def _grid(ny: int, nx: int, step: float = 0.1) -> xr.DataArray:
    v = np.arange(ny * nx, dtype=float).reshape(ny, nx)
    return xr.DataArray(v, dims=("lat", "lon"), coords={"lat": 30 + step * np.arange(ny),
                                                        "lon": 70 + step * np.arange(nx)})


def test_a_large_grid_becomes_the_block_means_of_one_screen():
    da = _grid(400, 600)
    box = (69.95, 129.95, 29.95, 69.95)  # the cells' edges
    out = raster(da, box, (300, 200))
    img = out["image"][0]
    assert img.shape == (200, 300)  # one value per screen pixel, not 240 000 cells
    blocks = da.values.reshape(200, 2, 300, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(img, blocks, rtol=1e-9)  # the mean, not a sample
    assert (out["x"], out["y"]) == ([69.95], [29.95])
    np.testing.assert_allclose([out["dw"][0], out["dh"][0]], [60.0, 40.0])


def test_a_zoomed_view_gets_the_cells_themselves():
    da = _grid(400, 600)
    out = raster(da, (79.95, 80.95, 39.95, 40.45), (300, 200))  # 10 × 5 cells' edges
    assert out["image"][0].shape == (5, 10)  # cells in view, not upsampled copies
    cells = da.sel(lon=slice(79.99, 80.91), lat=slice(39.99, 40.41)).values
    np.testing.assert_array_equal(out["image"][0], cells)


def test_nan_stays_nan_and_outside_the_grid_is_empty():
    da = _grid(40, 60)
    da[:20] = np.nan
    img = raster(da, (60.0, 90.0, 20.0, 40.0), (300, 200))["image"][0]
    assert np.isnan(img).any() and np.isfinite(img).any()
    assert np.isnan(img[:, :10]).all()  # west of the grid (lon < 69.95): nothing drawn


def test_log_ticks_are_one_two_five_within_the_data():
    assert log_ticks([0.0045, 0.03, 0.072]) == [0.005, 0.01, 0.02, 0.05]
    np.testing.assert_allclose(log_ticks([0.0156, 0.5]), [0.02, 0.05, 0.1, 0.2, 0.5])
    assert log_ticks([0.3, 0.4]) is None  # no two 1-2-5 values: Bokeh's own ticks
    assert log_ticks([np.nan, -1.0, 0.0]) is None


def test_the_spectrum_is_per_km_with_readable_ticks():
    import holoviews as hv

    hv.extension("bokeh")
    rng = np.random.default_rng(0)
    da = _grid(64, 64, step=0.0625).copy(data=np.exp(rng.normal(size=(64, 64))))
    plot = spectrum_plot({"truth": da})
    curve = next(iter(plot))
    k = curve.dimension_values(0)
    assert curve.kdims[0].name == "wavenumber (1/km)"
    assert k.max() <= 0.5 / (0.0625 * 111.2) + 1e-9  # Nyquist of a 6.95 km grid
    ticks = hv.renderer("bokeh").get_plot(plot).state.xaxis[0].ticker.ticks
    assert ticks == log_ticks(k) and len(ticks) >= 2


def test_the_train_tabs_loss_curve_follows_the_job_at_most_every_two_seconds():
    """The curve is a stream: new points redraw it (axes included), but not more often
    than ``REDRAW_S``, except for the last points of a finished run."""
    import holoviews as hv

    from finescale.app.jobs import Job
    from finescale.app.selection import TrainRequest
    from finescale.app.tabs.train import TrainTab

    tab = TrainTab(request=TrainRequest())
    fig = hv.renderer("bokeh").get_plot(tab.loss.object).state
    job = Job("train", losses=[(1, 0.5), (2, 0.3), (3, 0.2)], val_losses=[(3, 0.25)])
    tab._draw(job)
    assert (fig.x_range.start, fig.x_range.end) == (1, 3)
    job.losses.append((40, 0.01))
    tab._draw(job)  # within REDRAW_S of the last draw: skipped
    assert fig.x_range.end == 3
    job.finished = True
    tab._draw(job)
    assert fig.x_range.end == 40 and fig.y_range.start < 0.01


def test_closed_page_errors_are_one_line_and_others_reach_the_default(caplog):
    import asyncio

    from tornado.websocket import WebSocketClosedError

    from finescale.app.server_setup import LOG, closed_page_handler

    seen = []

    class Loop:
        def default_exception_handler(self, context):
            seen.append(context["exception"])

    LOG.propagate = True  # caplog listens on the root logger
    try:
        with caplog.at_level("INFO", logger=LOG.name):
            closed_page_handler(Loop(), {"exception": WebSocketClosedError()})
    finally:
        LOG.propagate = False
    assert seen == [] and "a page closed" in caplog.text
    err = ValueError("a bug")
    closed_page_handler(Loop(), {"exception": err})
    assert seen == [err]
    # the real loop accepts it as its handler
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(closed_page_handler)
    assert loop.get_exception_handler() is closed_page_handler
    loop.close()
