"""The embedded default behaves like the real MERRA-2 / G5NR pair (statistics, not looks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finescale.data.generator import GeneratorConfig, generate_region
from finescale.data.layout import DatasetDir
from finescale.data.regions import AREA0, AREA1, REGIONS
from finescale.data.seasons import SEASONS, season_of
from finescale.data.similarity import season_similarity


def _log(da) -> np.ndarray:
    return np.log10(da.values.astype(np.float64))


def _anomaly(da) -> np.ndarray:
    """log10 field minus its calendar-month climatology."""
    y = _log(da)
    months = pd.DatetimeIndex(da.time.values).month
    for m in np.unique(months):
        y[months == m] -= y[months == m].mean(0)
    return y


def _lag_corr(a: np.ndarray, k: int) -> float:
    x, y = a[:-k].reshape(len(a) - k, -1), a[k:].reshape(len(a) - k, -1)
    x, y = x - x.mean(0), y - y.mean(0)
    return float(((x * y).sum(0) / np.sqrt((x * x).sum(0) * (y * y).sum(0))).mean())


def test_full_grids_match_the_paper():
    assert AREA0.fine_shape == (224, 318)
    assert AREA1.fine_shape == (425, 352)
    lat, lon = AREA1.coarse_grid()
    assert np.allclose(np.diff(lat), 0.5) and np.allclose(np.diff(lon), 0.625)
    assert np.allclose((lat + 90) / 0.5, np.round((lat + 90) / 0.5))  # on the MERRA-2 lattice
    assert np.allclose((lon + 180) / 0.625, np.round((lon + 180) / 0.625))
    for reg in REGIONS.values():
        clat, clon = reg.coarse_grid()
        flat, flon = reg.fine_grid()
        assert clat[0] <= flat[0] and clat[-1] >= flat[-1]
        assert clon[0] <= flon[0] and clon[-1] >= flon[-1]


def test_periods_and_layout(small: DatasetDir):
    reg = small.region("area1")
    t = pd.DatetimeIndex(reg.fine.time.values)
    assert t[0] == pd.Timestamp("2005-05-15") and t[-1] == pd.Timestamp("2007-06-16")
    assert t.size == 763
    tc = pd.DatetimeIndex(reg.coarse.time.values)
    assert t.isin(tc).all()
    assert reg.fine.dtype == np.float32 and reg.coarse.dtype == np.float32
    assert reg.fine.attrs["units"] == "1"
    assert reg.fine.lat.attrs["units"] == "degrees_north"
    assert (np.diff(reg.fine.lat) > 0).all() and (np.diff(reg.fine.lon) > 0).all()
    assert reg.fine.encoding.get("zlib") or reg.fine.encoding.get("compression") == "gzip"
    assert {"elevation", "land_mask"} <= set(reg.static.data_vars)
    m = small.manifest
    assert m["variable"] == "DUEXTTAU" and m["generator"]["config"]["seed"] == 2005
    assert m["regions"]["area1"]["fine_days"] == 763


def test_full_coarse_period_is_2000_2024():
    c, f = GeneratorConfig().periods()
    assert (c[0], c[-1], c.size) == (pd.Timestamp("2000-01-01"), pd.Timestamp("2024-12-31"), 9132)
    assert f.size == 763


@pytest.mark.parametrize("region", ["area0", "area1"])
def test_seasonal_cycle_peaks_in_spring_summer(small: DatasetDir, region: str):
    da = small.region(region).fine
    y = _log(da).mean((1, 2))
    by_season = pd.Series(y).groupby(season_of(da.time.values)).mean()
    assert by_season[["MAM", "JJA"]].max() > by_season[["DJF", "SON"]].max() + 0.1
    assert by_season.idxmax() in ("MAM", "JJA")


@pytest.mark.parametrize("region", ["area0", "area1"])
def test_persistence_decays_over_days(small: DatasetDir, region: str):
    a = _anomaly(small.region(region).fine)
    r1, r3, r7 = (_lag_corr(a, k) for k in (1, 3, 7))
    assert 0.6 <= r1 <= 0.9
    assert r1 > r3 > r7


def test_heavy_tailed_values(small: DatasetDir):
    x = small.region("area1").fine.values.ravel().astype(np.float64)
    skew = lambda v: float(((v - v.mean()) ** 3).mean() / v.std() ** 3)  # noqa: E731
    assert skew(x) > 1.0  # right-skewed on the physical scale
    assert abs(skew(np.log10(x))) < 0.6  # roughly log-normal


def radial_spectrum(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = field - field.mean()
    p = np.abs(np.fft.fft2(f)) ** 2
    ky = np.fft.fftfreq(f.shape[0])[:, None]
    kx = np.fft.fftfreq(f.shape[1])[None, :]
    k = np.hypot(kx, ky)
    bins = np.linspace(0, 0.5, 33)
    idx = np.digitize(k.ravel(), bins)
    spec = np.array([p.ravel()[idx == i].mean() for i in range(1, len(bins))])
    return 0.5 * (bins[1:] + bins[:-1]), spec


def test_power_law_spectrum(small: DatasetDir):
    cfg = GeneratorConfig()
    a = _anomaly(small.region("area1").fine)
    specs = np.mean([radial_spectrum(a[t])[1] for t in range(0, len(a), 10)], axis=0)
    k = radial_spectrum(a[0])[0]
    sel = (k > 0.05) & (k < 0.35)
    slope = np.polyfit(np.log(k[sel]), np.log(specs[sel]), 1)[0]
    assert -cfg.beta - 0.8 < slope < -cfg.beta + 0.8


def test_fine_variance_the_coarse_grid_cannot_see(small: DatasetDir):
    reg = small.region("area1")
    y = _log(reg.fine)
    # variance within 8 × 8 blocks (one coarse cell) relative to the total
    b = y[:, : 64 // 8 * 8, :].reshape(y.shape[0], 8, 8, 8, 8)
    within = b.var(axis=(2, 4)).mean()
    assert within / y.var(axis=(1, 2)).mean() > 0.15


def test_coarse_is_not_a_block_mean_of_fine(small: DatasetDir):
    reg = small.region("area0")
    fine = reg.fine
    coarse = reg.coarse.sel(time=fine.time)
    block = np.log10(fine).coarsen(lat=8, lon=10, boundary="trim").mean()
    c = np.log10(coarse).interp(lat=block.lat, lon=block.lon, method="linear")
    diff = (c - block).values
    r = np.corrcoef(c.values.ravel(), block.values.ravel())[0, 1]
    assert 0.6 < r < 0.97  # related products, not a copy
    # a seasonal bias: the mean difference changes with season by a visible amount
    seas = pd.Series(np.nanmean(diff, axis=(1, 2))).groupby(season_of(fine.time.values)).mean()
    assert seas.max() - seas.min() > 0.04
    # smoother: less day-to-day pixel variance than the block means of the fine field
    assert np.nanvar(np.diff(c.values, axis=0)) < np.nanvar(np.diff(block.values, axis=0))


def test_distributions_stay_close(small: DatasetDir):
    for region in ("area0", "area1"):
        reg = small.region(region)
        for season in SEASONS:
            s = season_similarity(reg.coarse, reg.fine, season)
            assert s["mean"] < 0.08 and s["pooled"] < 0.08


def test_geography_drives_dust(small: DatasetDir):
    reg = small.region("area0")  # Registan desert below the Afghan highlands
    clim = _log(reg.fine).mean(0).ravel()
    elev = reg.static["elevation"].values.ravel()
    bare = reg.static["bare_fraction"].values.ravel()
    assert np.corrcoef(clim, elev)[0, 1] < -0.3
    assert np.corrcoef(clim, bare)[0, 1] > 0.3


def test_deterministic_by_seed():
    a = generate_region("area1", GeneratorConfig(small=True, seed=7), progress=False)
    b = generate_region("area1", GeneratorConfig(small=True, seed=7), progress=False)
    c = generate_region("area1", GeneratorConfig(small=True, seed=8), progress=False)
    np.testing.assert_array_equal(a.fine.values, b.fine.values)
    np.testing.assert_array_equal(a.coarse.values, b.coarse.values)
    assert not np.allclose(a.fine.values, c.fine.values)
