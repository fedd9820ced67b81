"""The finescale dashboard's entry script: ``panel serve app/main.py`` (or ``finescale serve``).

``panel serve`` runs this file once per browser session, so it stays thin: the dashboard and
everything sessions share live in :mod:`app.dashboard`, imported once per process. With
``$FINESCALE_RECORD`` (``finescale serve --record STORE``) the page browses that
reconstruction store instead.
"""

import os
from pathlib import Path

import holoviews as hv
import panel as pn

hv.extension("bokeh")  # per session: Panel and HoloViews record these per document
pn.extension(notifications=True)

from finescale.app.dashboard import create_app  # noqa: E402 - after the extensions
from finescale.app.server_setup import setup_server_process  # noqa: E402

if pn.state.served:
    setup_server_process()  # once per process: the first session's run does it
    if os.environ.get("FINESCALE_RECORD"):
        from finescale.app.record_view import RecordBrowser

        evidence = os.environ.get("FINESCALE_RECORD_EVIDENCE")
        reports = os.environ.get("FINESCALE_RECORD_REPORTS")
        RecordBrowser(Path(os.environ["FINESCALE_RECORD"]),
                      evidence=Path(evidence) if evidence else None,
                      reports=[Path(d) for d in reports.split(os.pathsep)] if reports else None
                      ).servable(title="finescale record")
    else:
        create_app().servable(title="finescale")
