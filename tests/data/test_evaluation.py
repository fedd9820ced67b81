"""Scoring a generated file: perfect forecasts score perfectly; bad files are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from finescale.data import evaluation as ev
from finescale.data.errors import FinescaleError


def generated(members: int = 3, days: int = 6, n: int = 48, noise: float = 0.0,
              seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    truth = 10 ** rng.normal(-1, 0.3, size=(days, n, n))
    gen = truth[None] * 10 ** (noise * rng.normal(size=(members, days, n, n)))
    coords = {"time": pd.date_range("2006-06-01", periods=days), "lat": 20 + 0.0625 *
              np.arange(n), "lon": 40 + 0.0625 * np.arange(n)}
    return xr.Dataset({"DUEXTTAU": (("member", "time", "lat", "lon"), gen),
                       "DUEXTTAU_truth": (("time", "lat", "lon"), truth)},
                      coords={**coords, "member": np.arange(members)})


def test_a_perfect_ensemble_scores_perfectly():
    g, t = ev.check_generated(generated(), "DUEXTTAU")
    s = ev.pointwise(g, t)
    assert s["r2"] == pytest.approx(1) and s["rmse"] == pytest.approx(0, abs=1e-12)
    assert s["crps"] == pytest.approx(0, abs=1e-12) and s["kge"] == pytest.approx(1)
    sp = ev.spatial(g, t, ev.CurveConfig(pairs=5000))
    assert sp["variogram_error"] == pytest.approx(0, abs=1e-12)
    assert sp["spectrum_error"] == pytest.approx(0, abs=1e-12)
    tm = ev.temporal(g, t, ev.CurveConfig(nlags=3))
    assert tm["acf_error"] == pytest.approx(0, abs=1e-12)
    assert tm["lead"].tolist() == list(range(1, 7))


def test_noise_degrades_every_score():
    g0, t0 = ev.check_generated(generated(noise=0.1), "DUEXTTAU")
    g1, t1 = ev.check_generated(generated(noise=0.3), "DUEXTTAU")
    a, b = ev.pointwise(g0, t0), ev.pointwise(g1, t1)
    assert b["rmse"] > a["rmse"] and b["crps"] > a["crps"] and b["r2"] < a["r2"]
    cfg = ev.CurveConfig(pairs=5000)
    assert ev.spatial(g1, t1, cfg)["variogram_error"] > ev.spatial(g0, t0, cfg)[
        "variogram_error"]
    assert ev.rank_counts(g1, t1).sum() == t1.size


def test_days_without_truth_are_skipped_and_all_missing_refused():
    ds = generated()
    ds["DUEXTTAU_truth"][0] = np.nan
    g, t = ev.check_generated(ds, "DUEXTTAU")
    assert g.sizes["time"] == 5 and t.sizes["time"] == 5
    ds["DUEXTTAU_truth"][:] = np.nan
    with pytest.raises(FinescaleError, match="no fine truth exists"):
        ev.check_generated(ds, "DUEXTTAU")


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.drop_vars("DUEXTTAU"), "no variable 'DUEXTTAU'"),
    (lambda d: d.drop_vars("DUEXTTAU_truth"), "no DUEXTTAU_truth"),
    (lambda d: d.isel(member=slice(0, 0)), "no members"),
    (lambda d: d.assign(DUEXTTAU=d.DUEXTTAU.where(d.member != 1)), "NaN/inf values .*member 1"),
    (lambda d: d.assign(DUEXTTAU=d.DUEXTTAU.isel(member=0)), "expected"),
])
def test_bad_generated_files_are_named(damage, message):
    with pytest.raises(FinescaleError, match=message):
        ev.check_generated(damage(generated()), "DUEXTTAU", name="run.nc")


def test_grid_and_period_must_match_an_external_truth():
    ds = generated()
    truth = ds.DUEXTTAU_truth
    with pytest.raises(FinescaleError, match="lat grid"):
        ev.check_generated(ds, "DUEXTTAU", truth=truth.assign_coords(lat=truth.lat + 1))
    with pytest.raises(FinescaleError, match="outside the truth's period"):
        ev.check_generated(ds, "DUEXTTAU", truth=truth.isel(time=slice(2, None)))
    g, t = ev.check_generated(ds, "DUEXTTAU", truth=truth)
    assert t.shape == g.shape[1:]
