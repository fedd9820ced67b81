"""What the dashboard's page loads: only our server's files, and none it does not use.

Two adjustments to Panel's defaults, each checked by a browser test that records the page's
requests (tests/app/test_ui_dashboard.py):

- Panel's Fast design links a Google Fonts stylesheet, which fails offline; ``OfflineFast``
  is the design without it (the font fell back to the system sans-serif anyway).
- Panel 1.9 sends Bokeh's 1.8 MB MathJax bundle with every page that holds a Markdown pane
  (holoviz/panel#8424), because Markdown *may* contain LaTeX. Ours never does, and parsing
  that script is about a tenth of the page-ready time on a 2-core machine
  (``python scripts/bench_ui.py``), so :func:`skip_mathjax` leaves it out.
"""

from __future__ import annotations

import functools
import inspect

import panel as pn
from panel.io import resources, server

# Named "Fast": Panel finds the design's bundled files under its lower-cased class name.
OfflineFast = type("Fast", (pn.theme.Fast,), {
    "_resources": {k: v for k, v in pn.theme.Fast._resources.items() if k != "font"},
    "__doc__": "The Fast design without its web font (offline)."})


def skip_mathjax() -> bool:
    """Serve pages without the MathJax bundle; False (and pages as Panel makes them) when
    this Panel's page builder has another shape than the one this was written for."""
    current = server.bundle_resources
    if getattr(current, "finescale_no_mathjax", False):
        return True
    if current is not resources.bundle_resources or "enable_mathjax" not in (
            inspect.signature(current).parameters):
        return False

    @functools.wraps(current)
    def bundle(*args, **kwargs):
        kwargs["enable_mathjax"] = False
        return current(*args, **kwargs)

    bundle.finescale_no_mathjax = True
    server.bundle_resources = bundle
    return True
