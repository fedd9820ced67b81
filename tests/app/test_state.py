from __future__ import annotations

import datetime as dt

import pandas as pd

from app.state import DataViewState


def test_region_change_resets_bounds_and_date(small):
    s = DataViewState(dataset=small)
    assert s.region == "area0"
    fine = pd.DatetimeIndex(small.region("area0").fine.time.values)
    assert fine[0].date() <= s.date <= fine[-1].date()
    coarse, f = s.fields()
    assert f is not None and f.shape == (64, 64) and coarse.ndim == 2
    s.region = "area1"
    lo, hi = s.param.date.bounds
    assert lo == dt.date(2004, 6, 1) and hi == dt.date(2007, 8, 31)


def test_day_without_fine_record(small):
    s = DataViewState(dataset=small, date=dt.date(2004, 7, 1))
    coarse, fine = s.fields()
    assert fine is None and coarse.notnull().all()
