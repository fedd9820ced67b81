"""What a dashboard server process sets up once, at its start, before the first page:
nothing of it happens when a module of ``finescale.app`` is imported (tests, scripts and the
CLI import them without serving).

- HoloViews on Bokeh with canvas, not WebGL: the plots are small line plots, and a
  software-rendered WebGL context (headless or GPU-less browsers) cost 0.3 s of a page load
  copying its pixels (measured in a Chrome profile); browsers cap WebGL contexts per page.
- pages without the MathJax bundle (:func:`app.page_assets.skip_mathjax`);
- freed memory returned to the system (:func:`app.heap.return_freed_memory`);
- datashader's aggregation compiled once (≈ 2 s), not in the first page's session;
- the event loop's handler that makes a page closed mid-write one log line;
- the server log (what the pages asked for and what ran).
"""

from __future__ import annotations

import logging

import numpy as np

LOG = logging.getLogger("finescale.dashboard")
_DONE = False


def closed_page_handler(loop, context: dict) -> None:
    """The event loop's exception handler: a page closed while the server wrote to it is
    one line in the log, not a traceback (Tornado leaves that write's error unretrieved;
    holoviz/panel#3341); anything else goes to the default handler."""
    from tornado.iostream import StreamClosedError
    from tornado.websocket import WebSocketClosedError

    if isinstance(context.get("exception"), WebSocketClosedError | StreamClosedError):
        LOG.info("a page closed while the server was writing to it")
        return
    loop.default_exception_handler(context)


def _warm_up() -> None:
    import xarray as xr

    from finescale.app.plots import raster

    da = xr.DataArray(np.ones((8, 8)), dims=("lat", "lon"),
                      coords={"lat": np.arange(8.0), "lon": np.arange(8.0)})
    raster(da, (0.0, 7.0, 0.0, 7.0), (4, 4))


def _log_to_stderr() -> None:
    if not LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def setup_server_process() -> bool:
    """Everything above, once per process (later calls do nothing); True the first time.
    Called by the entry script (``app/main.py``) inside the server's event loop."""
    global _DONE
    if _DONE:
        return False
    import asyncio

    import holoviews as hv

    from finescale.app.heap import return_freed_memory
    from finescale.app.page_assets import skip_mathjax

    hv.extension("bokeh")
    hv.renderer("bokeh").webgl = False
    skip_mathjax()
    return_freed_memory()
    _log_to_stderr()
    _warm_up()
    try:
        asyncio.get_running_loop().set_exception_handler(closed_page_handler)
    except RuntimeError:  # no loop running (a test calling this): nothing to quiet
        pass
    _DONE = True
    return True
