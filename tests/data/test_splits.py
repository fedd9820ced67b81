from __future__ import annotations

import pandas as pd
import pytest

from finescale.data.errors import FinescaleError
from finescale.data.seasons import SEASONS, in_season
from finescale.data.splits import SplitConfig, eligible_days, make_split

FINE = pd.date_range("2005-05-15", "2007-06-16", freq="D")


@pytest.mark.parametrize("season", SEASONS)
def test_paper_protocol(season: str):
    s = make_split(FINE, season)
    eligible = eligible_days(FINE, 40)
    season_days = eligible[in_season(eligible, season)]
    assert abs(s.test.size - round(0.1 * season_days.size)) == 0
    assert in_season(s.test, season).all()
    assert s.test.isin(season_days).all()
    pool = s.train.union(s.val)
    assert abs(s.val.size - round(0.2 * pool.size)) == 0
    assert not s.train.intersection(s.test).size and not s.val.intersection(s.test).size
    assert not s.train.intersection(s.val).size
    # every day has 40 days of record before it
    assert (pool.union(s.test) >= FINE[0] + pd.Timedelta(days=40)).all()
    # the pre-season buffer: pool days outside the season lie within 45 days before it
    outside = pool[~in_season(pool, season)]
    assert outside.size > 0
    first = {"DJF": 12, "MAM": 3, "JJA": 6, "SON": 9}[season]
    for d in outside:
        start = pd.Timestamp(d.year + (1 if d.month >= first and first != 12 else 0)
                             if first != 12 else d.year, first, 1)
        if start < d:
            start = pd.Timestamp(start.year + 1, first, 1)
        assert (start - d).days <= 45


def test_deterministic_and_seeded():
    a, b = make_split(FINE, "JJA"), make_split(FINE, "JJA")
    assert a.test.equals(b.test) and a.val.equals(b.val)
    c = make_split(FINE, "JJA", SplitConfig(seed=1))
    assert not a.test.equals(c.test)


def test_history_excludes_days_after_gaps():
    days = FINE.delete(slice(100, 101))  # one missing day
    e = eligible_days(days, 40)
    gap = FINE[100]
    assert not ((e > gap) & (e <= gap + pd.Timedelta(days=40))).any()


def test_too_few_days_is_an_error():
    with pytest.raises(FinescaleError, match="too few"):
        make_split(pd.date_range("2006-01-01", "2006-01-20"), "DJF")
    with pytest.raises(FinescaleError, match="unknown season"):
        make_split(FINE, "XYZ")
    with pytest.raises(FinescaleError, match="test_fraction"):
        SplitConfig(test_fraction=1.5)


@pytest.mark.parametrize("season,year", [("JJA", 2006), ("DJF", 2006)])
def test_a_season_year_held_out_in_time(season: str, year: int):
    s = make_split(FINE, season, SplitConfig(heldout_year=year))
    first = pd.Timestamp(year, 12 if season == "DJF" else 6, 1)
    # the test days are every day of the season-year, nothing else
    assert s.test.equals(pd.date_range(first, first + pd.DateOffset(months=3) - pd.Timedelta(
        days=1)))
    assert s.config.label == "time-heldout" and make_split(FINE, season).config.label == "test"
    # no training or validation day inside the season-year or its 45-day pre-season buffer
    pool = s.train.union(s.val)
    assert not ((pool >= first - pd.Timedelta(days=45)) & (pool <= s.test[-1])).any()
    # the other season-years are still trained on, validation still a random 20 % of the pool
    assert in_season(pool, season).any() and abs(s.val.size - round(0.2 * pool.size)) == 0


def test_holding_out_a_year_without_days_is_an_error():
    with pytest.raises(FinescaleError, match="JJA of 2001 has no day"):
        make_split(FINE, "JJA", SplitConfig(heldout_year=2001))
    with pytest.raises(FinescaleError, match="heldout_year"):
        SplitConfig(heldout_year=-3)
    # the only season-year of a one-summer record: nothing left to train on
    with pytest.raises(FinescaleError, match="to train on"):
        make_split(pd.date_range("2006-04-01", "2006-09-30"), "JJA",
                   SplitConfig(heldout_year=2006))
