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
    d, lo, hi, p = diff["r2"]
    assert lo <= d <= hi and lo > 0  # the less noisy ensemble is better on every resample
    assert p == pytest.approx(2 / 501)  # never 0: no resample on the other side
    assert bootstrap.verdict("r2", lo, hi) == "holds"
    assert bootstrap.verdict("crps", *diff["crps"][1:3]) == "holds"
    assert bootstrap.verdict("crps", *bootstrap.paired(daily["bad"], daily["good"],
                                                       n=500)["crps"][1:3]) == "fails"
    assert bootstrap.verdict_p("crps", diff["crps"][0], diff["crps"][3]) == "holds"
    same = bootstrap.paired(daily["good"], daily["good"], n=200)["r2"]
    assert same == (0.0, 0.0, 0.0, 1.0) and bootstrap.verdict("r2", 0.0, 0.0) == "undecided"
    lo, hi = bootstrap.intervals(daily["good"], n=500)["r2"]
    assert lo < bootstrap.pooled(daily["good"])["r2"][0] < hi


def test_paired_needs_the_same_days(case):
    _, _, _, _, daily = case
    with pytest.raises(Exception, match="same days"):
        bootstrap.paired(daily["good"], daily["bad"].isel(time=slice(1, None)))


def test_fair_scores_pool_like_the_reports(case):
    """r2_inf and crps_fair pooled from the daily sums are the report's numbers; with
    more members' noise removed, r2_inf is above the N-member R²."""
    from finescale.data import scores
    from finescale.data.evaluation import scaled

    truth, _, bad, _, daily = case
    rec, p = pointwise(bad, truth), bootstrap.pooled(daily["bad"])
    lg, lt = scaled("log", bad), scaled("log", truth)
    inf = scores.ensemble_mean_inf(lg.values, lt.values)
    assert p["r2_inf"][0] == pytest.approx(inf["r2_inf"], rel=1e-9)
    assert p["crps_fair"][0] == pytest.approx(rec["crps_fair"], rel=1e-9)
    assert p["r2_inf"][0] > p["r2"][0] and p["crps_prob"][0] == p["crps_fair"][0]


def test_moving_blocks_are_runs_of_adjacent_days():
    w = bootstrap.draws(30, 200, seed=1, block=5)
    assert w.shape == (200, 30) and (w.sum(axis=1) == 30).all()
    # every day is drawn equally often on average (the blocks wrap round)
    assert np.abs(w.mean(axis=0) - 1).max() < 0.35
    # a day's neighbour is drawn with it far more often than with independent days
    both = ((w[:, :-1] > 0) & (w[:, 1:] > 0)).mean()
    iid = bootstrap.draws(30, 200, seed=1, block=1)
    assert both > ((iid[:, :-1] > 0) & (iid[:, 1:] > 0)).mean() + 0.1
    assert bootstrap.block_length(18) == 3 and bootstrap.block_length(92) == 5
    assert bootstrap.block_length(1) == bootstrap.block_length(2) == 1


def test_blocks_widen_the_interval_of_persistent_errors():
    """Days whose errors persist for a week (AR(1) at 0.9): resampling single days
    understates the uncertainty of the pooled score; blocks of adjacent days do not."""
    rng = np.random.default_rng(3)
    n = 90
    err = np.zeros(n)
    for i in range(1, n):
        err[i] = 0.9 * err[i - 1] + rng.normal()
    days = pd.date_range("2006-06-01", periods=n)
    ones = xr.DataArray(np.ones(n), {"time": days}, ("time",))
    daily = xr.Dataset({"n": ones, "sp": ones, "st": ones, "spp": ones, "stt": ones,
                        "spt": ones, "sae": ones + err, "scrps": ones,
                        "gamma": (("time", "distance"), np.ones((n, 2))),
                        "gamma_truth": (("time", "distance"), np.ones((n, 2)))})
    width = {b: np.diff(bootstrap.intervals(daily, 2000, 0, block=b)["mae"])[0]
             for b in (1, 10)}
    assert width[10] > 1.5 * width[1]


def test_holm_adjusts_a_family_of_p_values():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    adj = bootstrap.holm(p)
    np.testing.assert_allclose(adj[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adj[4]) and bootstrap.holm(np.array([])).size == 0
    assert bootstrap.verdict_p("r2", 0.01, 0.03) == "holds"
    assert bootstrap.verdict_p("r2", 0.01, 0.06) == "undecided"
    assert bootstrap.verdict_p("crps", 0.01, 0.01) == "fails"
