"""Every kernel against a closed form or a reference implementation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr

from data.diagnostics import (
    acf,
    haversine_km,
    pacf,
    r2_pearson,
    r2_score,
    radial_spectrum,
    rmse,
    semivariogram,
)


def test_scores_against_references():
    rng = np.random.default_rng(0)
    t = rng.normal(size=500)
    p = t + rng.normal(scale=0.5, size=500)
    assert r2_pearson(p, t) == pytest.approx(pearsonr(p, t)[0] ** 2)
    assert r2_score(t, t) == 1.0 and rmse(t, t) == 0.0
    assert rmse(t + 2, t) == pytest.approx(2)
    assert r2_score(np.full_like(t, t.mean()), t) == pytest.approx(0)


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
