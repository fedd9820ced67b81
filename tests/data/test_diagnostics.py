"""Every kernel against a closed form or a reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from finescale.data.diagnostics import (
    acf,
    curve_error,
    fit_spherical,
    haversine_km,
    lag_scores,
    pacf,
    pixel_acf,
    radial_spectrum,
    semivariogram,
    spherical,
)


def test_haversine_quarter_meridian():
    assert haversine_km(0, 0, 90, 0) == pytest.approx(np.pi / 2 * 6371.0)
    assert haversine_km(10, 20, 10, 20) == 0


def test_white_noise_acf_pacf_and_flat_spectrum():
    rng = np.random.default_rng(1)
    x = rng.normal(size=20_000)
    a, p = acf(x, 10), pacf(x, 10)
    assert a[0] == 1 and np.abs(a[1:]).max() < 0.03 and np.abs(p[1:]).max() < 0.03
    _, s = radial_spectrum(rng.normal(size=(256, 256)))
    assert s[1:].std() / s[1:].mean() < 0.1  # flat


def test_ar1_acf_and_pacf_closed_form():
    rng = np.random.default_rng(2)
    phi, n = 0.7, 50_000
    x = np.zeros(n)
    e = rng.normal(size=n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    a, p = acf(x, 5), pacf(x, 5)
    np.testing.assert_allclose(a, phi ** np.arange(6), atol=0.02)
    assert p[1] == pytest.approx(phi, abs=0.02) and np.abs(p[2:]).max() < 0.02


def test_variogram_of_known_covariance():
    """Independent pixels with variance v: γ(h) = v for every h > 0; a linear trend gives
    γ(h) = ½ (slope · Δ)² growing with distance."""
    rng = np.random.default_rng(3)
    lat, lon = np.arange(20, 30, 0.1), np.arange(40, 50, 0.1)
    z = rng.normal(scale=2.0, size=(lat.size, lon.size))
    _, g = semivariogram(z, lat, lon, seed=0, pairs=200_000)
    assert np.nanmean(g) == pytest.approx(z.var(), rel=0.03)
    trend = np.broadcast_to(lat[:, None], (lat.size, lon.size))
    _h, g = semivariogram(trend, lat, lon, seed=0)
    assert np.all(np.diff(g[np.isfinite(g)]) > -0.05) and g[-1] > 10 * g[0]


def test_variogram_of_a_moving_average_matches_its_closed_form():
    """A box average of white noise over w cells has γ(k) = σ² min(k/w, 1) at lag k cells."""
    rng = np.random.default_rng(4)
    w, n, step = 40, 200_000, 0.0625
    z = np.convolve(rng.normal(size=n + w - 1), np.ones(w) / np.sqrt(w), mode="valid")[None]
    lat, lon = np.array([0.0]), np.arange(n) * step
    h, g = semivariogram(z, lat, lon, max_km=600, bins=24, pairs=1_000_000, seed=0)
    km_per_cell = haversine_km(0, 0, 0, step)
    half = (h[1] - h[0]) / 2
    # the closed form averaged over each 25 km bin (lags are uniform within a bin)
    expected = [np.minimum(np.linspace(c - half, c + half, 201) / km_per_cell / w, 1).mean()
                for c in h]
    np.testing.assert_allclose(g, z.var() * np.array(expected), atol=0.04)


def test_spherical_fit_recovers_its_parameters():
    h = np.linspace(12.5, 587.5, 24)
    g = spherical(h, 0.1, 1.1, 320.0)
    fit = fit_spherical(h, g)
    assert fit["nugget"] == pytest.approx(0.1, abs=1e-3)
    assert fit["sill"] == pytest.approx(1.1, rel=1e-3)
    assert fit["range_km"] == pytest.approx(320.0, rel=1e-3)
    noisy = g + np.random.default_rng(5).normal(scale=0.01, size=h.size)
    assert fit_spherical(noisy, g)["range_km"] != fit["range_km"]  # lags, not values, swapped
    assert fit_spherical(h, noisy)["range_km"] == pytest.approx(320.0, rel=0.1)
    assert spherical(np.array([0.0, 320.0, 1e4]), 0.1, 1.1, 320.0).tolist() == \
        pytest.approx([0.1, 1.1, 1.1])


def test_pixel_acf_of_ar1_cube_and_lag_scores():
    rng = np.random.default_rng(6)
    phi, n = 0.6, 400
    x = np.zeros((n, 10, 10))
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal(size=(10, 10))
    a = pixel_acf(x, 3)
    np.testing.assert_allclose(a, phi ** np.arange(4), atol=0.03)
    truth = rng.normal(size=(2, 5, 8, 8))
    roll = truth + 0.1 * np.arange(1, 6)[None, :, None, None]
    ls = lag_scores(roll, truth)
    np.testing.assert_allclose(ls["rmse"], 0.1 * np.arange(1, 6))
    assert ls["lag"].tolist() == [1, 2, 3, 4, 5] and np.allclose(ls["r2"], 1)


def test_curve_error():
    r = np.array([1.0, 2.0, np.nan])
    assert curve_error(r, r) == 0 and curve_error(2 * r, r) == pytest.approx(1.0)
