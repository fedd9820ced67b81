"""The entry script that ``panel serve`` runs once per browser session."""

from __future__ import annotations

import runpy
from pathlib import Path

MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"


def test_sessions_rerun_the_script_but_share_the_dashboard_module():
    """What pages share (generations in flight, the similarity table) must outlive one
    session's run of the script; it lived in the script until it was found to be re-created
    for every page, so two pages asking for the same day generated it twice."""
    first, second = runpy.run_path(str(MAIN)), runpy.run_path(str(MAIN))
    assert first["create_app"] is second["create_app"]
    from finescale.app import dashboard

    assert first["create_app"] is dashboard.create_app
