"""Importing any module of ``finescale.app`` changes nothing in the process: the server's
start-up (``app.server_setup``) does the memory settings, the page-builder patch, the
HoloViews backend, datashader's warm-up, the log handler and the event-loop handler."""

from __future__ import annotations

import subprocess
import sys

PROBE = r"""
import asyncio, ctypes, logging, pkgutil, importlib
calls = []
real_cdll = ctypes.CDLL
ctypes.CDLL = lambda *a, **k: calls.append(str(a[0])) or real_cdll(*a, **k)
from panel.io import server
builder = server.bundle_resources
import holoviews as hv
import finescale.app
names = [m.name for m in pkgutil.walk_packages(finescale.app.__path__, "finescale.app.")
         if m.name != "finescale.app.main"]
for name in names:
    importlib.import_module(name)
assert len(names) > 30, names
assert not [c for c in calls if "libc.so" in c], calls  # no mallopt
assert server.bundle_resources is builder  # no MathJax patch
# (importing holoviews.plotting.bokeh registers its renderer; our canvas setting is not
# applied at import)
assert "bokeh" not in hv.Store.renderers or hv.Store.renderers["bokeh"].webgl is True
assert not logging.getLogger("finescale.dashboard").handlers
print("ok", len(names))
"""


def test_importing_the_app_has_no_side_effect():
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stderr[-2000:]


def test_the_server_sets_itself_up_once():
    from panel.io import server

    from finescale.app import server_setup

    probe = ("from finescale.app.server_setup import setup_server_process as s\n"
             "from panel.io import server\n"
             "assert s() is True and s() is False\n"
             "assert getattr(server.bundle_resources, 'finescale_no_mathjax', False)\n"
             "import logging; assert logging.getLogger('finescale.dashboard').handlers\n"
             "import holoviews as hv; assert hv.renderer('bokeh').webgl is False\n"
             "print('ok')")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
    assert server_setup.LOG.name == "finescale.dashboard" and server is not None


def test_the_catalogue_and_the_selection_load_without_torch():
    """The page lists its models from manifests: no network library is needed for that."""
    probe = ("import sys\n"
             "import finescale.app.catalogue, finescale.app.selection\n"
             "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr[-2000:]


def test_tabs_reach_the_model_only_through_the_service():
    """A tab's inputs are its declared parameters: no tab imports ``finescale.model`` or
    the page's shell, and each declares the choice, the service and the day it reads."""
    import ast
    import importlib
    import pkgutil
    from pathlib import Path

    import finescale.app.tabs as tabs
    from finescale.app.tabs.base import Tab

    for path in Path(tabs.__path__[0]).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad = [n for n in names if n.startswith(("finescale.model", "finescale.app.dash"))]
            assert not bad, (path.name, bad)
    found = []
    for m in pkgutil.iter_modules(tabs.__path__, "finescale.app.tabs."):
        mod = importlib.import_module(m.name)
        found += [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, Tab)
                  and c is not Tab and c.__module__ == m.name]
    assert len(found) == 7
    for cls in found:
        assert {"selection", "service", "shown", "active"} <= set(cls.param), cls
        assert "board" not in cls.__init__.__code__.co_varnames, cls
