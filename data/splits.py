"""The paper's split protocol, per season, deterministic by seed.

test       10 % of the season's days that have at least ``history`` days of record before them
train pool the season's other eligible days plus those of a ``buffer_days`` pre-season buffer
validation 20 % of the training pool; the rest is training

Held out in time (``heldout_year``): the test days are instead every eligible day of one
whole season-year (DJF of year Y is December Y to February Y+1), and that season-year and
its pre-season buffer are kept out of the training pool, so no model trains or validates on
a day within weeks of a test day. This is what the long record needs to be judged by: days
of a year the model has never seen, roll-outs that never cross a training day.

"Eligible" means the ``history`` calendar days before the day are all in the record, so the
autoregressive model always has a full history of fine fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from finescale.data.errors import FinescaleError
from finescale.data.seasons import SEASON_MONTHS, SEASONS, check_season, in_season, season_starts

SCORED = ("test", "val")  # the parts of a split a model may be scored on (Split attributes)


HELDOUT = "time-heldout"  # the label of test days held out in time (reports, tables)


@dataclass(frozen=True)
class SplitConfig:
    """Hyper-parameters of the split protocol (defaults are the paper's)."""

    test_fraction: float = 0.10  # share of eligible season days held out for testing
    val_fraction: float = 0.20  # share of the training pool used for validation
    history: int = 40  # days of history a day needs to be eligible
    buffer_days: int = 45  # pre-season days added to the training pool
    seed: int = 0  # seeds the random choice of test and validation days
    heldout_year: int = 0  # hold out this whole season-year as the test days (0 = random)

    def __post_init__(self) -> None:
        for name in ("test_fraction", "val_fraction"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise FinescaleError(f"{name} must be in (0, 1), got {v}")
        if self.history < 0 or self.buffer_days < 0:
            raise FinescaleError("history and buffer_days must be >= 0")
        if self.heldout_year < 0:
            raise FinescaleError(f"heldout_year must be a year or 0, got {self.heldout_year}")

    @property
    def label(self) -> str:
        """How the test days were chosen, as the report names it."""
        return HELDOUT if self.heldout_year else "test"


@dataclass(frozen=True)
class Split:
    """Train / validation / test days of one season."""

    season: str
    train: pd.DatetimeIndex
    val: pd.DatetimeIndex
    test: pd.DatetimeIndex
    config: SplitConfig

    def to_dict(self) -> dict:
        fmt = lambda idx: [d.strftime("%Y-%m-%d") for d in idx]  # noqa: E731
        return {"season": self.season, "train": fmt(self.train), "val": fmt(self.val),
                "test": fmt(self.test), "config": asdict(self.config)}


def eligible_days(times: pd.DatetimeIndex, history: int) -> pd.DatetimeIndex:
    """Days whose ``history`` preceding calendar days are all in ``times``."""
    days = pd.DatetimeIndex(times).normalize().unique().sort_values()
    if history == 0:
        return days
    ordinal = (days - pd.Timestamp("1970-01-01")).days.to_numpy()
    # run length of consecutive days ending at each index
    run = np.ones(ordinal.size, dtype=int)
    for i in range(1, ordinal.size):
        run[i] = run[i - 1] + 1 if ordinal[i] - ordinal[i - 1] == 1 else 1
    return days[run > history]


def _buffer_mask(days: pd.DatetimeIndex, season: str, buffer_days: int) -> np.ndarray:
    starts = season_starts(days, season)
    mask = np.zeros(days.size, dtype=bool)
    for s in starts:
        mask |= (days >= s - pd.Timedelta(days=buffer_days)) & (days < s)
    return mask


def _season_year(days: pd.DatetimeIndex, season: str, year: int, buffer_days: int
                 ) -> np.ndarray:
    """Mask of the days of ``season`` starting in ``year``, with its pre-season buffer."""
    start = pd.Timestamp(year, SEASON_MONTHS[season][0], 1)
    end = start + pd.DateOffset(months=3)
    return np.asarray((days >= start - pd.Timedelta(days=buffer_days)) & (days < end))


def make_split(times: pd.DatetimeIndex, season: str, config: SplitConfig | None = None) -> Split:
    """Split the days of ``times`` for ``season`` following the paper's protocol."""
    config = config or SplitConfig()
    check_season(season)
    days = eligible_days(times, config.history)
    season_days = days[in_season(days, season)]
    if season_days.size < 2:
        raise FinescaleError(
            f"season {season} has {season_days.size} day(s) with {config.history} days of "
            "history in the record: too few to split"
        )
    rng = np.random.default_rng([config.seed, SEASONS.index(season)])
    pool_mask = in_season(days, season) | _buffer_mask(days, season, config.buffer_days)
    if config.heldout_year:
        held = _season_year(days, season, config.heldout_year, config.buffer_days)
        test = season_days[held[in_season(days, season)]]
        if test.size == 0:
            raise FinescaleError(
                f"season {season} of {config.heldout_year} has no day with {config.history} "
                f"days of history in the record ({days[0]:%Y-%m-%d} .. {days[-1]:%Y-%m-%d}): "
                "nothing to hold out")
        pool = days[pool_mask & ~held]
        if pool.size < 2:
            raise FinescaleError(f"season {season}: holding out {config.heldout_year} leaves "
                                 f"{pool.size} day(s) to train on")
    else:
        n_test = max(1, round(config.test_fraction * season_days.size))
        test = season_days[np.sort(rng.choice(season_days.size, n_test, replace=False))]
        pool = days[pool_mask].difference(test)
    n_val = max(1, round(config.val_fraction * pool.size))
    val = pool[np.sort(rng.choice(pool.size, n_val, replace=False))]
    train = pool.difference(val)
    return Split(season=season, train=train, val=val, test=test, config=config)
