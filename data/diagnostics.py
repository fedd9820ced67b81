"""Diagnostic kernels (numpy) used to judge downscaled fields.

Scores are computed on log10 AOT unless stated. ``r2_pearson`` is the squared Pearson
correlation (the paper's R²); ``r2_score`` the coefficient of determination.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0


def _valid(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def r2_pearson(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = _valid(pred, truth)
    return float(np.corrcoef(p, t)[0, 1] ** 2)


def r2_score(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = _valid(pred, truth)
    return float(1 - ((p - t) ** 2).sum() / ((t - t.mean()) ** 2).sum())


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = _valid(pred, truth)
    return float(np.sqrt(((p - t) ** 2).mean()))


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def semivariogram(field: np.ndarray, lat: np.ndarray, lon: np.ndarray, *, max_km: float = 600,
                  bins: int = 24, pairs: int = 30_000, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Empirical semivariogram γ(h) = ½ E[(z(x) − z(x+h))²] from randomly sampled pairs.

    ``field`` is (lat, lon); returns bin centres (km) and γ per bin (NaN where empty).
    """
    rng = np.random.default_rng(seed)
    ny, nx = field.shape
    # partners drawn within a box of ±max_km around the first point, so short lags are
    # sampled as densely as long ones whatever the domain size
    ry = int(np.ceil(max_km / (111.2 * abs(lat[1] - lat[0])))) if ny > 1 else 0
    rx = int(np.ceil(max_km / (111.2 * abs(lon[1] - lon[0]) *
                               np.cos(np.radians(np.mean(lat)))))) if nx > 1 else 0
    m = 4 * pairs  # candidates; partners falling off the grid are rejected, not clipped
    y1, x1 = rng.integers(0, ny, m), rng.integers(0, nx, m)
    y2, x2 = y1 + rng.integers(-ry, ry + 1, m), x1 + rng.integers(-rx, rx + 1, m)
    inside = np.flatnonzero((y2 >= 0) & (y2 < ny) & (x2 >= 0) & (x2 < nx))[:pairs]
    y1, x1, y2, x2 = y1[inside], x1[inside], y2[inside], x2[inside]
    z = field
    d = haversine_km(lat[y1], lon[x1], lat[y2], lon[x2])
    i, j = (y1, x1), (y2, x2)
    edges = np.linspace(0, max_km, bins + 1)
    k = np.digitize(d, edges) - 1
    sq = 0.5 * (z[i] - z[j]) ** 2
    keep = (k >= 0) & (k < bins) & np.isfinite(sq)
    sums = np.bincount(k[keep], sq[keep], minlength=bins)
    counts = np.bincount(k[keep], minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma = np.where(counts > 0, sums / counts, np.nan)
    return 0.5 * (edges[1:] + edges[:-1]), gamma


def acf(x: np.ndarray, nlags: int = 30) -> np.ndarray:
    """Sample autocorrelation of a 1-D series for lags 0..nlags (biased estimator)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)] - np.nanmean(x)
    n = x.size
    denom = (x * x).sum()
    return np.array([(x[: n - k] * x[k:]).sum() / denom if k < n else np.nan
                     for k in range(nlags + 1)])


def pacf(x: np.ndarray, nlags: int = 30) -> np.ndarray:
    """Partial autocorrelation by the Durbin–Levinson recursion on :func:`acf`."""
    r = acf(x, nlags)
    out = np.zeros(nlags + 1)
    out[0] = 1.0
    phi = np.zeros((nlags + 1, nlags + 1))
    for k in range(1, nlags + 1):
        num = r[k] - (phi[k - 1, 1:k] * r[k - 1:0:-1]).sum()
        den = 1 - (phi[k - 1, 1:k] * r[1:k]).sum()
        phi[k, k] = num / den if den != 0 else np.nan
        phi[k, 1:k] = phi[k - 1, 1:k] - phi[k, k] * phi[k - 1, k - 1:0:-1]
        out[k] = phi[k, k]
    return out


def radial_spectrum(field: np.ndarray, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of a 2-D field (mean removed).

    Returns wavenumber bin centres in cycles per grid step (0..0.5) and mean power.
    """
    f = np.asarray(field, dtype=np.float64)
    f = np.where(np.isfinite(f), f, np.nanmean(f)) - np.nanmean(f)
    p = np.abs(np.fft.fft2(f)) ** 2 / f.size
    k = np.hypot(np.fft.fftfreq(f.shape[0])[:, None], np.fft.fftfreq(f.shape[1])[None, :])
    edges = np.linspace(0, 0.5, bins + 1)
    idx = np.digitize(k.ravel(), edges) - 1
    keep = (idx >= 0) & (idx < bins)
    sums = np.bincount(idx[keep], p.ravel()[keep], minlength=bins)
    counts = np.bincount(idx[keep], minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (edges[1:] + edges[:-1]), np.where(counts > 0, sums / counts, np.nan)
