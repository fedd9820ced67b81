"""Spatial and temporal diagnostic kernels (numpy): do generated fields keep the physics?

Semivariograms with haversine distances and a spherical-model fit, radially averaged power
spectra, ACF/PACF, and skill as a function of lead (lag) for autoregressive roll-outs.
Pointwise scores live in :mod:`data.scores`.
"""

from __future__ import annotations

import warnings

import numpy as np

EARTH_RADIUS_KM = 6371.0


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


def grid_step_km(lat: np.ndarray) -> float:
    """The north–south grid step in km: the length that turns :func:`radial_spectrum`'s
    cycles per grid step into cycles per km, the same for every plot of a region."""
    lat = np.asarray(lat, dtype=np.float64)
    return abs(float(lat[1] - lat[0])) * 111.2


def spherical(h: np.ndarray, nugget: float, sill: float, range_km: float) -> np.ndarray:
    """Spherical variogram model: nugget + (sill − nugget)(1.5 h/a − 0.5 (h/a)³), flat past a.

    ``sill`` is the total sill (nugget included), as scikit-gstat and gstools report it.
    """
    r = np.clip(np.asarray(h, dtype=np.float64) / range_km, 0, 1)
    return nugget + (sill - nugget) * (1.5 * r - 0.5 * r**3)


def fit_spherical(h: np.ndarray, gamma: np.ndarray) -> dict[str, float]:
    """Least-squares fit of :func:`spherical` to an empirical variogram (NaN bins skipped).

    Bounded so that 0 ≤ nugget ≤ sill and the range lies in (0, 3 × the largest lag].
    """
    from scipy.optimize import curve_fit

    h, g = np.asarray(h, dtype=np.float64), np.asarray(gamma, dtype=np.float64)
    ok = np.isfinite(g)
    if ok.sum() < 3:
        return {"nugget": np.nan, "sill": np.nan, "range_km": np.nan}
    h, g = h[ok], g[ok]
    top = max(float(g.max()), 1e-12)
    p0 = (float(g[0]) * 0.5, float(g.max()), float(h[np.argmax(g >= 0.95 * g.max())]))

    def model(x, nug, psill, rng):  # partial sill keeps nugget <= sill inside the bounds
        return spherical(x, nug, nug + psill, rng)

    (nug, psill, rng), _ = curve_fit(
        model, h, g, p0=(p0[0], max(p0[1] - p0[0], 1e-12), max(p0[2], h[0])),
        bounds=([0, 0, 1e-6], [2 * top, 4 * top, 3 * h.max()]), maxfev=20_000)
    return {"nugget": float(nug), "sill": float(nug + psill), "range_km": float(rng)}


def nanmean_curves(curves: list[np.ndarray]) -> np.ndarray:
    """Mean of curves per bin; bins empty in every curve (beyond the domain) stay NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(curves, axis=0)


def curve_error(curve: np.ndarray, reference: np.ndarray) -> float | np.ndarray:
    """Relative L2 distance ‖c − r‖ / ‖r‖ over the bins where both are finite.

    Used for variograms, spectra (on log10 power) and ACFs: 0 means identical curves.
    Bins on the last axis: a float for one curve, an array for a stack of them.
    """
    c, r = np.broadcast_arrays(np.asarray(curve, dtype=np.float64),
                               np.asarray(reference, dtype=np.float64))
    ok = np.isfinite(c) & np.isfinite(r)
    num = np.sqrt(np.where(ok, (c - r) ** 2, 0.0).sum(axis=-1))
    den = np.sqrt(np.where(ok, r**2, 0.0).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    return float(out) if out.ndim == 0 else out


def pixel_acf(cube: np.ndarray, nlags: int) -> np.ndarray:
    """ACF averaged over pixels of a (time, lat, lon) cube, each pixel's anomaly on its own.

    Short roll-outs have few days but many pixels: averaging over pixels is what makes the
    estimate usable.
    """
    x = np.asarray(cube, dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    x = x[:, np.isfinite(x).all(axis=0)]
    x = x - x.mean(axis=0)
    n = x.shape[0]
    denom = (x * x).sum(axis=0)
    keep = denom > 0
    x, denom = x[:, keep], denom[keep]
    return np.array([np.mean((x[: n - k] * x[k:]).sum(axis=0) / denom) if k < n else np.nan
                     for k in range(nlags + 1)])


def lag_scores(rollouts: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """RMSE and squared-Pearson R² per lead day of autoregressive roll-outs.

    ``rollouts`` and ``truth`` are (start, lead, lat, lon): lead 0 is the first generated
    day (one day after the last true history day, "lag 1"). Scores pool all starts.
    """
    from finescale.data.scores import r2_pearson, rmse

    r, t = np.asarray(rollouts), np.asarray(truth)
    if r.shape != t.shape:
        raise ValueError(f"roll-outs {r.shape} and truth {t.shape} differ in shape")
    pool = (0, *range(2, r.ndim))  # every axis but the lead
    return {"lag": np.arange(1, r.shape[1] + 1), "rmse": rmse(r, t, axis=pool),
            "r2": r2_pearson(r, t, axis=pool)}
