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
    y1, x1 = rng.integers(0, ny, pairs), rng.integers(0, nx, pairs)
    y2 = np.clip(y1 + rng.integers(-ry, ry + 1, pairs), 0, ny - 1)
    x2 = np.clip(x1 + rng.integers(-rx, rx + 1, pairs), 0, nx - 1)
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
