"""Bootstrap intervals over scored days: of one model's scores, and of the difference
between two models scored on the same days (paired: both resampled with the same draws).

A day is the resampling unit: pixels of one day are strongly correlated, days much less, so
resampling pixels would give intervals far too narrow. Members are not resampled (they are
exchangeable draws of the same model; the days dominate the uncertainty of a pooled score).

Each model's day is kept as sums (:func:`daily_stats`), from which a pooled score over any
multiset of days is exact — R² pooled over the resampled days' pixels, not a mean of daily
R² — so an interval is centred on the number the report prints.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from finescale.data import skill
from finescale.data.diagnostics import curve_error
from finescale.data.errors import FinescaleError
from finescale.data.evaluation import ensemble_mean, scaled

# score → which way is better; the scores whose differences carry the paper's claims
BETTER = {"r2": "higher", "mae": "lower", "crps": "lower", "variogram_error": "lower"}
LEVEL = 0.95


def daily_stats(gen: xr.DataArray, truth: xr.DataArray, spatial: dict, kind: str = "log"
                ) -> xr.Dataset:
    """Per day: the sums behind the pooled R², MAE and CRPS of the ensemble mean (analysis
    scale; CRPS of one member is its MAE) and the day's variogram curves (members' mean and
    truth, from :func:`finescale.data.evaluation.spatial`)."""
    lg, lt = scaled(kind, gen), scaled(kind, truth)
    mean = ensemble_mean(lg)
    ok = np.isfinite(mean) & np.isfinite(lt)
    p, t = mean.where(ok, 0.0), lt.where(ok, 0.0)
    space = ("lat", "lon")
    n = ok.sum(space)
    crps = skill.crps(lg, lt, dim=space).fillna(0.0) * n
    return xr.Dataset(
        {"n": n, "sp": p.sum(space), "st": t.sum(space), "spp": (p * p).sum(space),
         "stt": (t * t).sum(space), "spt": (p * t).sum(space),
         "sae": abs(p - t).sum(space), "scrps": crps,
         "gamma": (("time", "distance"), np.asarray(spatial["gamma_days"])),
         "gamma_truth": (("time", "distance"), np.asarray(spatial["gamma_truth_days"]))},
        coords={"time": gen.time.values, "distance": spatial["h_km"]})


def pooled(daily: xr.Dataset, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Scores pooled over days counted by ``weights`` (B, days): one value per row (all
    days once when None)."""
    d = daily.sizes["time"]
    w = np.ones((1, d)) if weights is None else np.asarray(weights, dtype=np.float64)

    def s(k: str) -> np.ndarray:
        return w @ daily[k].values.astype(np.float64)

    n = s("n")
    mp, mt = s("sp") / n, s("st") / n
    cov = s("spt") / n - mp * mt
    vp, vt = s("spp") / n - mp**2, s("stt") / n - mt**2
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = cov**2 / (vp * vt)
    return {"r2": r2, "mae": s("sae") / n, "crps": s("scrps") / n,
            "variogram_error": curve_error(_mean_curves(w, daily["gamma"].values),
                                           _mean_curves(w, daily["gamma_truth"].values))}


def _mean_curves(w: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Weighted mean of daily curves per bin, skipping days without that bin (NaN)."""
    ok = np.isfinite(curves)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ np.where(ok, curves, 0.0)) / (w @ ok)


def draws(days: int, n: int, seed: int) -> np.ndarray:
    """``n`` resamples of ``days`` days with replacement, as counts per day (n, days)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(days, np.full(days, 1 / days), size=n)


def _interval(x: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.nanpercentile(x, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def intervals(daily: xr.Dataset, n: int = 2000, seed: int = 0, level: float = LEVEL
              ) -> dict[str, tuple[float, float]]:
    """Percentile interval of each pooled score."""
    b = pooled(daily, draws(daily.sizes["time"], n, seed))
    return {k: _interval(v, level) for k, v in b.items()}


def paired(a: xr.Dataset, b: xr.Dataset, n: int = 2000, seed: int = 0, level: float = LEVEL
           ) -> dict[str, tuple[float, float, float]]:
    """Score of ``a`` minus score of ``b`` on the same days: (difference on all days, low,
    high) of the paired percentile interval."""
    ta, tb = a.time.values, b.time.values
    if ta.shape != tb.shape or (ta != tb).any():
        raise FinescaleError("a paired bootstrap needs both models scored on the same days")
    w = draws(a.sizes["time"], n, seed)
    pa, pb, ba, bb = pooled(a), pooled(b), pooled(a, w), pooled(b, w)
    return {k: (float(pa[k][0] - pb[k][0]), *_interval(ba[k] - bb[k], level)) for k in pa}


def verdict(score: str, low: float, high: float) -> str:
    """For a difference ``reference − other``: does the reference win ("holds"), lose
    ("fails"), or can the days not tell ("undecided", the interval spans 0)?"""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "undecided"
    win, lose = (low > 0, high < 0) if BETTER[score] == "higher" else (high < 0, low > 0)
    return "holds" if win else "fails" if lose else "undecided"
