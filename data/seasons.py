"""Meteorological seasons (DJF, MAM, JJA, SON) and their calendar helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

SEASONS: tuple[str, ...] = ("DJF", "MAM", "JJA", "SON")
SEASON_MONTHS: dict[str, tuple[int, int, int]] = {
    "DJF": (12, 1, 2),
    "MAM": (3, 4, 5),
    "JJA": (6, 7, 8),
    "SON": (9, 10, 11),
}


def daily(start, end) -> pd.DatetimeIndex:
    """Every day from ``start`` to ``end`` inclusive; a bad or empty range is one line."""
    from finescale.data.errors import FinescaleError

    try:
        days = pd.date_range(start, end, freq="D")
    except (ValueError, TypeError) as err:
        raise FinescaleError(f"bad date range {start!r} .. {end!r}: {err}") from None
    if days.size == 0:
        raise FinescaleError(f"empty date range: {start} .. {end}")
    return days


def check_season(season: str) -> str:
    from finescale.data.errors import FinescaleError

    if season not in SEASON_MONTHS:
        raise FinescaleError(f"unknown season {season!r}; use one of {', '.join(SEASONS)}")
    return season


def season_of(times: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Season label of each timestamp."""
    months = pd.DatetimeIndex(times).month
    lut = {m: s for s, ms in SEASON_MONTHS.items() for m in ms}
    return np.array([lut[m] for m in months])


def in_season(times: pd.DatetimeIndex | np.ndarray, season: str) -> np.ndarray:
    """Boolean mask of the timestamps that fall in ``season``."""
    check_season(season)
    return np.isin(pd.DatetimeIndex(times).month, SEASON_MONTHS[season])


def season_starts(times: pd.DatetimeIndex, season: str) -> pd.DatetimeIndex:
    """First day of every occurrence of ``season`` touched by ``times`` (DJF starts 1 Dec)."""
    check_season(season)
    first_month = SEASON_MONTHS[season][0]
    times = pd.DatetimeIndex(times)
    years = np.unique(times.year)
    if first_month == 12:
        years = np.unique(np.concatenate([years - 1, years]))
    return pd.DatetimeIndex([pd.Timestamp(int(y), first_month, 1) for y in years])
