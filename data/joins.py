"""Do segment joins show? Day-to-day statistics at the first day of a segment vs inside.

A record made in independent segments (:mod:`finescale.data.record`) is seamless only if
the statistics that link consecutive days — the mean absolute day-to-day change, the lag-1
pattern correlation, and the variogram at short lags — are the same across a join as
inside a segment. Inputs are on the analysis scale (log10 for log-transformed variables).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from finescale.data.diagnostics import semivariogram


def day_pairs(z: np.ndarray, lat: np.ndarray, lon: np.ndarray, short_km: float = 60.0
              ) -> dict[str, np.ndarray]:
    """Per member and day t ≥ 1 of ``z`` (member, time, lat, lon): ``change`` (mean
    |z_t − z_{t−1}|), ``lag1`` (pattern correlation of the two days' anomalies) and
    ``gamma`` (mean semivariance at lags up to ``short_km``, of day t)."""
    m, t = z.shape[:2]
    out = {k: np.full((m, t - 1), np.nan) for k in ("change", "lag1", "gamma")}
    for i in range(m):
        for j in range(1, t):
            a, b = z[i, j - 1], z[i, j]
            out["change"][i, j - 1] = np.nanmean(np.abs(b - a))
            da, db = a - np.nanmean(a), b - np.nanmean(b)
            out["lag1"][i, j - 1] = np.nansum(da * db) / np.sqrt(np.nansum(da**2)
                                                               * np.nansum(db**2))
            h, g = semivariogram(b, lat, lon, max_km=4 * short_km, bins=8, pairs=6000, seed=j)
            out["gamma"][i, j - 1] = np.nanmean(g[h <= short_km])
    return out


def join_statistics(z: np.ndarray, lat: np.ndarray, lon: np.ndarray, segment_days: int
                    ) -> dict[str, dict[str, float]]:
    """For each statistic: its mean at joins and inside, their ratio and the Mann–Whitney
    two-sided p-value (joins vs inside; a small p means the joins show)."""
    pairs = day_pairs(z, lat, lon)
    t = np.arange(1, z.shape[1])
    join = (t % segment_days) == 0
    res = {}
    for name, v in pairs.items():
        a, b = v[:, join].ravel(), v[:, ~join].ravel()
        p = float(stats.mannwhitneyu(a, b).pvalue) if a.size and b.size else float("nan")
        res[name] = {"join_mean": float(np.mean(a)) if a.size else float("nan"),
                     "inside_mean": float(np.mean(b)), "inside_sd": float(np.std(b)),
                     "ratio": float(np.mean(a) / np.mean(b)) if a.size else float("nan"),
                     "p_value": p, "n_join": int(a.size), "n_inside": int(b.size)}
    return res
