"""scripts/record_compare.py: a statistic made to drift by a known amount is reported with
that trend, a flat one with none; truth rows stay out of the trend; flagged years are listed."""

from __future__ import annotations

import json

import pytest

from tests.scripts import load_script


def _rows(drift_per_year: float, flag_year: int | None) -> list[dict]:
    base = {"level": "season", "season": "JJA", "region": "area0", "reason": "γ outside"}
    rows = [dict(base, year=y, source="generated", lag1=0.65, flag=y == flag_year,
                 semivariance_short=0.006 * (1 + drift_per_year * (y - 2000)))
            for y in range(2000, 2025)]
    # the G5NR years' truth rows: far off, so a trend that used them would show it
    rows += [dict(base, year=y, source="truth", lag1=0.0, flag=False, semivariance_short=1.0)
             for y in (2005, 2006)]
    return rows


def test_trend_per_decade_truth_left_out_and_flags(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_rows(-0.004, flag_year=2024)))
    new.write_text(json.dumps(_rows(0.0, flag_year=None)))
    load_script("record_compare").main([str(old), str(new), "--stats",
                                        "semivariance_short,lag1"])
    o, n = json.loads(capsys.readouterr().out)
    t = o["trends"]["JJA"]["semivariance_short"]
    assert t["slope_per_decade"] == pytest.approx(-0.006 * 0.04)
    assert t["pct_per_decade"] == pytest.approx(-100 * 0.04 / (1 - 0.004 * 12))
    assert (t["first"], t["last"]) == pytest.approx((0.006, 0.006 * (1 - 0.004 * 24)))
    for stat in ("semivariance_short", "lag1"):
        assert n["trends"]["JJA"][stat]["pct_per_decade"] == pytest.approx(0, abs=1e-9)
    assert [f["year"] for f in o["flagged"]] == [2024] and n["flagged"] == []
    assert o["years"] == list(range(2000, 2025))
