"""Bootstrap over days: exact pooled scores from daily sums, paired intervals, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from finescale.data import bootstrap
from finescale.data.evaluation import CurveConfig, pointwise, spatial


def _ensemble(rng, truth: xr.DataArray, noise: float, members: int) -> xr.DataArray:
    lt = np.log10(truth.values)
    e = 10 ** (lt + rng.normal(0, noise, size=(members, *lt.shape)))
    return xr.DataArray(e, {"member": np.arange(members), **truth.coords},
                        ("member", *truth.dims))


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    days = pd.date_range("2006-06-01", periods=10)
    lat, lon = np.linspace(20, 30, 24), np.linspace(70, 82, 28)
    smooth = rng.normal(size=(10, 24, 28)).cumsum(axis=1).cumsum(axis=2) / 20
    truth = xr.DataArray(10 ** (smooth - 1), {"time": days, "lat": lat, "lon": lon},
                         ("time", "lat", "lon"))
    cfg = CurveConfig(max_km=400, bins=8, pairs=4000)
    good, bad = _ensemble(rng, truth, 0.1, 3), _ensemble(rng, truth, 0.4, 3)
    daily = {k: bootstrap.daily_stats(g, truth, spatial(g, truth, cfg), "log")
             for k, g in (("good", good), ("bad", bad))}
    return truth, good, bad, cfg, daily


def test_pooled_on_all_days_is_the_reports_score(case):
    truth, good, _, cfg, daily = case
    rec, sp = pointwise(good, truth), spatial(good, truth, cfg)
    p = bootstrap.pooled(daily["good"])
    assert p["r2"][0] == pytest.approx(rec["r2"], rel=1e-9)
    assert p["mae"][0] == pytest.approx(rec["mae"], rel=1e-9)
    assert p["crps"][0] == pytest.approx(rec["crps"], rel=1e-9)
    assert p["variogram_error"][0] == pytest.approx(sp["variogram_error"], rel=1e-9)


def test_resampled_days_are_scored_as_those_days(case):
    truth, good, _, _, daily = case
    w = np.zeros((1, 10))
    w[0, [1, 4]] = [2, 1]  # day 1 twice, day 4 once
    keep = good.isel(time=[1, 1, 4])
    t = truth.isel(time=[1, 1, 4])
    assert bootstrap.pooled(daily["good"], w)["r2"][0] == pytest.approx(
        pointwise(keep, t)["r2"], rel=1e-9)


def test_paired_interval_and_verdicts(case):
    _, _, _, _, daily = case
    diff = bootstrap.paired(daily["good"], daily["bad"], n=500)
    d, lo, hi = diff["r2"]
    assert lo <= d <= hi and lo > 0  # the less noisy ensemble is better on every resample
    assert bootstrap.verdict("r2", lo, hi) == "holds"
    assert bootstrap.verdict("crps", *diff["crps"][1:]) == "holds"
    assert bootstrap.verdict("crps", *bootstrap.paired(daily["bad"], daily["good"],
                                                       n=500)["crps"][1:]) == "fails"
    same = bootstrap.paired(daily["good"], daily["good"], n=200)["r2"]
    assert same == (0.0, 0.0, 0.0) and bootstrap.verdict("r2", 0.0, 0.0) == "undecided"
    lo, hi = bootstrap.intervals(daily["good"], n=500)["r2"]
    assert lo < bootstrap.pooled(daily["good"])["r2"][0] < hi


def test_paired_needs_the_same_days(case):
    _, _, _, _, daily = case
    with pytest.raises(Exception, match="same days"):
        bootstrap.paired(daily["good"], daily["bad"].isel(time=slice(1, None)))
