"""The scoring layer: axis kernels agree with pooled loops; named-dim wrappers; dask."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from finescale.data import scores, skill

DET = ("r2_pearson", "r2_score", "rmse", "mae", "bias", "kge")


@pytest.fixture
def cube():
    rng = np.random.default_rng(0)
    t = rng.normal(-1.0, 0.4, size=(6, 12, 15))
    p = t + rng.normal(0.05, 0.2, size=t.shape)
    p[2, 3, :4] = np.nan  # a hole: skipped on that day only
    e = t + rng.normal(0, 0.3, size=(5, *t.shape))
    return p, t, e


@pytest.mark.parametrize("name", DET)
def test_axis_kernels_equal_a_loop_over_days(cube, name):
    p, t, _ = cube
    f = getattr(scores, name)
    by_day = f(p, t, axis=(1, 2))
    assert by_day.shape == (6,)
    np.testing.assert_allclose(by_day, [f(p[k], t[k]) for k in range(6)], rtol=1e-12)
    assert isinstance(f(p, t), float)


@pytest.mark.parametrize("name", ("crps", "spread_skill"))
def test_ensemble_kernels_equal_a_loop_and_take_the_member_axis(cube, name):
    _, t, e = cube
    f = getattr(scores, name)
    by_day = f(e, t, axis=(1, 2))
    np.testing.assert_allclose(by_day, [f(e[:, k], t[k]) for k in range(6)], rtol=1e-12)
    np.testing.assert_allclose(f(np.moveaxis(e, 0, -1), t, axis=(1, 2), m_axis=-1), by_day)


def test_wrappers_reduce_named_dims_and_keep_the_others(cube):
    p, t, e = cube
    coords = {"time": np.arange(6), "lat": np.linspace(20, 30, 12),
              "lon": np.linspace(70, 85, 15)}
    P = xr.DataArray(p, coords, ("time", "lat", "lon"))
    T = xr.DataArray(t, coords, ("time", "lat", "lon"))
    E = xr.DataArray(e, {"member": np.arange(5), **coords}, ("member", "time", "lat", "lon"))
    daily = skill.r2(P, T, dim=["lat", "lon"])
    assert daily.dims == ("time",)
    np.testing.assert_allclose(daily, scores.r2_pearson(p, t, axis=(1, 2)))
    assert float(skill.rmse(P, T)) == pytest.approx(scores.rmse(p, t))
    # transposed inputs: dims are matched by name, not position
    assert float(skill.mae(P.transpose("lon", "time", "lat"), T)) == pytest.approx(
        scores.mae(p, t))
    np.testing.assert_allclose(skill.crps(E, T, dim=("lat", "lon")),
                               scores.crps(e, t, axis=(1, 2)))
    assert float(skill.spread(E)) == pytest.approx(scores.spread(e))
    # one map per pixel over time
    assert skill.bias(P, T, dim="time").dims == ("lat", "lon")
    with pytest.raises(ValueError, match="height"):
        skill.r2(P, T, dim="height")
    with pytest.raises(ValueError, match="member"):
        skill.crps(P, T)


def test_dask_stays_lazy_until_computed(cube):
    p, t, _ = cube
    dims = ("time", "lat", "lon")
    P = xr.DataArray(da.from_array(p, chunks=(2, 12, 15)), dims=dims)
    T = xr.DataArray(da.from_array(t, chunks=(2, 12, 15)), dims=dims)
    out = skill.rmse(P, T, dim=("lat", "lon"))
    assert isinstance(out.data, da.Array)
    np.testing.assert_allclose(out.compute(), scores.rmse(p, t, axis=(1, 2)))
