"""Bootstrap intervals over scored days: of one model's scores, and of the difference
between two models scored on the same days (paired: both resampled with the same draws).

A day is the resampling unit: pixels of one day are strongly correlated, days much less, so
resampling pixels would give intervals far too narrow. Members are not resampled (they are
exchangeable draws of the same model; the days dominate the uncertainty of a pooled score).

Each model's day is kept as sums (:func:`daily_stats`), from which a pooled score over any
multiset of days is exact — R² pooled over the resampled days' pixels, not a mean of daily
R² — so an interval is centred on the number the report prints.

Adjacent days are not independent (a day's field persists for days), so days are resampled
in blocks of ``block`` consecutive scored days (the moving-block bootstrap, Künsch 1989);
``block=1`` is the plain day bootstrap. Fair to ensemble size: ``r2_inf`` is the ensemble
mean's R² with the members' noise term removed (:func:`finescale.data.scores.ensemble_mean_inf`
on pooled sums; a single member's is its R²), ``crps_fair`` the fair CRPS; ``crps_prob`` puts
every model's forecast distribution on one footing — an ensemble's fair CRPS, a deterministic
model's CRPS dressed with its validation error (``crps_dressed``). Every paired difference
gets a bootstrap p-value, and :func:`holm` adjusts the verdicts of a whole report for the
number of comparisons it makes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from finescale.data import scores, skill
from finescale.data.diagnostics import curve_error
from finescale.data.errors import FinescaleError
from finescale.data.evaluation import ensemble_mean, scaled

# score → which way is better; the scores whose differences carry the paper's claims
BETTER = {"r2": "higher", "r2_inf": "higher", "mae": "lower", "crps": "lower",
          "crps_fair": "lower", "crps_dressed": "lower",
          "crps_prob": "lower", "variogram_error": "lower"}
LEVEL = 0.95
REFERENCE = "diffusion"  # the model whose claims the intervals test
# the verdicts that decide the paper's claims, fair to ensemble size and forecast type: the
# ensemble mean's R² with infinitely many members, CRPS of forecast distributions (fair for
# ensembles, dressed for deterministic models), variogram error; the N-member R² and the
# CRPS against a point forecast's MAE stay beside them
VERDICTS = ("r2_inf", "crps_prob", "variogram_error")
# a distilled student's difference to its own teacher is no claim of the paper (its targets
# are in docs/distillation.md); its row keeps the intervals, the claims leave it out
NOT_CLAIMS = ("distilled",)


def daily_stats(gen: xr.DataArray, truth: xr.DataArray, spatial: dict, transform: str = "log",
                deterministic: bool = False) -> xr.Dataset:
    """Per day: the sums behind the pooled R², MAE and CRPS of the ensemble mean (analysis
    scale; CRPS of one member is its MAE), behind the fair estimates (members' variance,
    fair CRPS) and the day's variogram curves (members' mean and truth, from
    :func:`finescale.data.evaluation.spatial`). One member of a ``deterministic`` model has
    no noise to remove (its R²∞ is its R²); one member of a generative model has an unknown
    noise (its R²∞ is undefined)."""
    lg, lt = scaled(transform, gen), scaled(transform, truth)
    mean = ensemble_mean(lg)
    ok = np.isfinite(mean) & np.isfinite(lt)
    p, t = mean.where(ok, 0.0), lt.where(ok, 0.0)
    space = ("lat", "lon")
    n = ok.sum(space)
    crps = skill.crps(lg, lt, dim=space).fillna(0.0) * n
    m = lg.sizes["member"]
    if m > 1:
        var = lg.var("member", ddof=1).where(ok, 0.0).sum(space)
        e = lg.transpose("member", "time", *space).values
        fair = xr.DataArray(scores.crps_fair(e, lt.transpose("time", *space).values,
                                             axis=(1, 2)), dims=["time"]) * n
    else:  # one member: no noise term if deterministic, else unknown; a fair CRPS needs two
        var = xr.full_like(n, 0.0 if deterministic else np.nan, np.float64)
        fair = xr.full_like(n, np.nan, np.float64)
    return xr.Dataset(
        {"n": n, "sp": p.sum(space), "st": t.sum(space), "spp": (p * p).sum(space),
         "stt": (t * t).sum(space), "spt": (p * t).sum(space),
         "sae": abs(p - t).sum(space), "scrps": crps,
         "members": xr.full_like(n, m, np.float64), "svar": var, "sfair": fair,
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
    out = {"r2": r2, "mae": s("sae") / n, "crps": s("scrps") / n,
           "variogram_error": curve_error(_mean_curves(w, daily["gamma"].values),
                                          _mean_curves(w, daily["gamma_truth"].values))}
    if "svar" not in daily:  # a report from before the fair estimates
        return out
    members = float(daily["members"].values[0])
    noise = s("svar") / n / members  # the members' noise in the ensemble mean, s²/M
    with np.errstate(invalid="ignore", divide="ignore"):
        vinf = vp - noise
        out["r2_inf"] = np.where(vinf > 0, cov**2 / (vinf * vt), np.nan)
    out["crps_fair"] = s("sfair") / n
    if "sdressed" in daily:
        out["crps_dressed"] = s("sdressed") / n
    out["crps_prob"] = out["crps_fair"] if members > 1 else out.get("crps_dressed",
                                                                    np.full_like(n, np.nan))
    return out


def _mean_curves(w: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Weighted mean of daily curves per bin, skipping days without that bin (NaN)."""
    ok = np.isfinite(curves)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ np.where(ok, curves, 0.0)) / (w @ ok)


def block_length(days: int) -> int:
    """The moving-block bootstrap's default block: ⌈days^(1/3)⌉ consecutive days (the
    optimal order for variance estimation, Hall, Horowitz & Jing 1995), but at least four
    blocks (fewer days than that resample nearly the same days every time)."""
    return max(1, min(int(np.ceil(days ** (1 / 3) - 1e-9)), days // 4))


def draws(days: int, n: int, seed: int, block: int = 1) -> np.ndarray:
    """``n`` resamples of ``days`` days, as counts per day (n, days): ⌈days/block⌉ blocks of
    ``block`` consecutive days, each starting anywhere (wrapping round the end, so every day
    is drawn equally often), cut to ``days`` days. ``block=1``: days with replacement."""
    rng = np.random.default_rng(seed)
    if block <= 1:
        return rng.multinomial(days, np.full(days, 1 / days), size=n)
    block = min(block, days)
    k = -(-days // block)
    starts = rng.integers(0, days, size=(n, k))
    idx = ((starts[:, :, None] + np.arange(block)) % days).reshape(n, -1)[:, :days]
    counts = np.zeros((n, days), dtype=np.int64)
    np.add.at(counts, (np.arange(n)[:, None], idx), 1)
    return counts


def _interval(x: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.nanpercentile(x, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def intervals(daily: xr.Dataset, n: int = 2000, seed: int = 0, level: float = LEVEL,
              block: int = 1) -> dict[str, tuple[float, float]]:
    """Percentile interval of each pooled score."""
    b = pooled(daily, draws(daily.sizes["time"], n, seed, block))
    return {k: _interval(v, level) for k, v in b.items() if np.isfinite(v).any()}


def paired(a: xr.Dataset, b: xr.Dataset, n: int = 2000, seed: int = 0, level: float = LEVEL,
           block: int = 1) -> dict[str, tuple[float, float, float, float]]:
    """Score of ``a`` minus score of ``b`` on the same days: (difference on all days, low,
    high of the paired percentile interval, two-sided bootstrap p-value of no difference),
    for every score both have."""
    ta, tb = a.time.values, b.time.values
    if ta.shape != tb.shape or (ta != tb).any():
        raise FinescaleError("a paired bootstrap needs both models scored on the same days")
    w = draws(a.sizes["time"], n, seed, block)
    pa, pb, ba, bb = pooled(a), pooled(b), pooled(a, w), pooled(b, w)
    out = {}
    for k in pa:
        if k not in pb:
            continue
        d, bd = float(pa[k][0] - pb[k][0]), ba[k] - bb[k]
        if not np.isfinite(d):
            continue
        out[k] = (d, *_interval(bd, level), p_value(bd))
    return out


def p_value(diffs: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from bootstrap differences: twice the smaller
    share on either side of 0, with the +1 correction so it is never 0."""
    x = np.asarray(diffs, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    below, above = (x <= 0).sum(), (x >= 0).sum()
    return float(min(1.0, 2 * (min(below, above) + 1) / (x.size + 1)))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN, not counted):
    controls the chance of any false verdict at the level whatever their dependence."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order]) if m else order
    out[order] = np.minimum(adj, 1.0)
    return out


def verdict_p(score: str, diff: float, p: float, level: float = LEVEL) -> str:
    """A verdict from a difference and its (adjusted) p-value."""
    if not (np.isfinite(diff) and np.isfinite(p)) or p >= 1 - level:
        return "undecided"
    win = diff > 0 if BETTER[score] == "higher" else diff < 0
    return "holds" if win else "fails"


def verdict(score: str, low: float, high: float) -> str:
    """For a difference ``reference − other``: does the reference win ("holds"), lose
    ("fails"), or can the days not tell ("undecided", the interval spans 0)?"""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "undecided"
    win, lose = (low > 0, high < 0) if BETTER[score] == "higher" else (high < 0, low > 0)
    return "holds" if win else "fails" if lose else "undecided"
