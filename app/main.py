"""The finescale dashboard's entry script: ``panel serve app/main.py`` (or ``finescale serve``).

``panel serve`` runs this file once per browser session, so it stays thin: the dashboard and
everything sessions share live in :mod:`app.dashboard`, imported once per process.
"""

import holoviews as hv
import panel as pn

from finescale.app.dashboard import create_app

hv.extension("bokeh")  # per session: Panel and HoloViews record these per document
pn.extension(notifications=True)

if pn.state.served:
    create_app().servable(title="finescale")
