"""Browser test: the data view loads, renders maps, and reacts to the region."""

from __future__ import annotations

import pytest

from tests.app.conftest import SHOTS

pytestmark = pytest.mark.ui


def test_data_view_renders(server, page):
    page.goto(server)
    page.wait_for_selector(".bk-Canvas", timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.locator(".bk-Canvas").count() >= 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dataview.png"))
    assert page.errors == []
