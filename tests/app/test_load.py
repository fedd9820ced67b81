"""A short, bounded load test: two headless pages change region, day and model together."""

from __future__ import annotations

import pytest

from tests.scripts import load_script

pytestmark = [pytest.mark.ui, pytest.mark.slow]


def test_two_pages_under_load(small_dir, tmp_path):
    run = load_script("load_test").run  # a developer tool: in scripts/, not in the package

    res = run(small_dir, pages=2, seconds=8, models=["interp:bilinear", "interp:nearest"],
              env={"FINESCALE_CHECKPOINTS": str(tmp_path)})
    assert res["actions"] >= 2, res
    assert res["page_errors"] == [] and res["timeouts"] == [], res
    assert res["server_log_exceptions"] == [], res
    assert res["generations"] <= res["generation_requests"], res  # never more jobs than asks
    assert res["server_peak_rss_mb"] <= 2048, res
