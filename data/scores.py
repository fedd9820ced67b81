"""Score kernels: numpy, NaN-aware, over any ``axis`` (xskillscore's shape).

Deterministic: RMSE, MAE, bias, R² as the squared Pearson correlation (``r2_pearson``, the
paper's R²) and as the coefficient of determination (``r2_score``), NSE and KGE.
Ensemble: CRPS (scoringrules' standard, not "fair", empirical estimator, which equals the
MAE for one member), spread, spread–skill ratio and the rank histogram; members on
``m_axis`` (0 unless told), the other axes line up with the truth's.

``axis=None`` pools every point and returns a float; an int or tuple reduces those axes and
returns an array (e.g. one R² per day from ``(time, lat, lon)`` with ``axis=(1, 2)``).
A point counts where forecast and truth (and, for ensembles, every member) are finite.
:mod:`finescale.data.skill` wraps each kernel for named ``xarray`` dimensions.
"""

from __future__ import annotations

import numpy as np

Axis = int | tuple[int, ...] | None


def _out(x: np.ndarray, axis: Axis) -> float | np.ndarray:
    return float(x) if axis is None else x


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 of one shape, NaN wherever either is not finite."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    bad = ~(np.isfinite(a) & np.isfinite(b))
    if bad.any():
        a, b = np.where(bad, np.nan, a), np.where(bad, np.nan, b)
    return a, b


def _nanmean(x: np.ndarray, axis: Axis, keepdims: bool = False) -> np.ndarray:
    """Mean of the finite points; NaN (without a warning) where there are none."""
    n = np.sum(~np.isnan(x), axis=axis, keepdims=keepdims)
    s = np.nansum(x, axis=axis, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return s / np.where(n > 0, n, np.nan)


def _moments(p: np.ndarray, t: np.ndarray, axis: Axis):
    """Means, standard deviations (ddof 0) and correlation of paired finite points."""
    mp, mt = _nanmean(p, axis, True), _nanmean(t, axis, True)
    dp, dt = p - mp, t - mt
    vp, vt = _nanmean(dp**2, axis), _nanmean(dt**2, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = _nanmean(dp * dt, axis) / np.sqrt(vp * vt)
    return (np.squeeze(mp, axis=axis), np.squeeze(mt, axis=axis), np.sqrt(vp), np.sqrt(vt),
            r)


def r2_pearson(pred, truth, axis: Axis = None):
    """Squared Pearson correlation (the paper's R²): blind to bias and scale errors."""
    return _out(_moments(*_pair(pred, truth), axis)[4] ** 2, axis)


def r2_score(pred, truth, axis: Axis = None):
    """Coefficient of determination 1 − SSE/SST: penalises bias, can be negative."""
    p, t = _pair(pred, truth)
    sse = _nanmean((p - t) ** 2, axis)
    sst = _nanmean((t - _nanmean(t, axis, True)) ** 2, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _out(1 - sse / sst, axis)


def nse(pred, truth, axis: Axis = None):
    """Nash–Sutcliffe efficiency; the hydrologists' name for :func:`r2_score`."""
    return r2_score(pred, truth, axis)


def rmse(pred, truth, axis: Axis = None):
    p, t = _pair(pred, truth)
    return _out(np.sqrt(_nanmean((p - t) ** 2, axis)), axis)


def mae(pred, truth, axis: Axis = None):
    p, t = _pair(pred, truth)
    return _out(_nanmean(np.abs(p - t), axis), axis)


def bias(pred, truth, axis: Axis = None):
    """Mean error, prediction minus truth."""
    p, t = _pair(pred, truth)
    return _out(_nanmean(p - t, axis), axis)


def kge(pred, truth, axis: Axis = None):
    """Kling–Gupta efficiency (Gupta et al. 2009): 1 − ‖(r − 1, α − 1, β − 1)‖.

    r is the Pearson correlation, α = σ_pred/σ_truth, β = μ_pred/μ_truth.
    """
    mp, mt, sp, st, r = _moments(*_pair(pred, truth), axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _out(1 - np.sqrt((r - 1) ** 2 + (sp / st - 1) ** 2 + (mp / mt - 1) ** 2), axis)


# --- ensembles -----------------------------------------------------------------------------

def _members(ens, truth, m_axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Members moved to axis 0 and the truth, NaN wherever the truth or any member is not
    finite (so every score of an ensemble counts the same points)."""
    e = np.moveaxis(np.asarray(ens, dtype=np.float64), m_axis, 0)
    t = np.asarray(truth, dtype=np.float64)
    if e.shape[1:] != t.shape:
        try:
            e = np.broadcast_to(e, (e.shape[0], *np.broadcast_shapes(e.shape[1:], t.shape)))
            t = np.broadcast_to(t, e.shape[1:])
        except ValueError:
            raise ValueError(f"ensemble members have shape {e.shape[1:]}, truth "
                             f"{t.shape}") from None
    ok = np.isfinite(t) & np.isfinite(e).all(axis=0)
    if not ok.all():
        e, t = np.where(ok, e, np.nan), np.where(ok, t, np.nan)
    return e, t


def crps(ens, truth, axis: Axis = None, m_axis: int = 0):
    """Mean CRPS of an ensemble by scoringrules' empirical estimator."""
    import scoringrules as sr  # here, not at the top: its numba kernels compile on import
    # (~5 s on 2 cores), which every CLI command and the dashboard's start paid before

    e, t = _members(ens, truth, m_axis)
    return _out(_nanmean(sr.crps_ensemble(t, e, m_axis=0, estimator="qd"), axis), axis)


def crps_fair(ens, truth, axis: Axis = None, m_axis: int = 0):
    """Mean CRPS by the *fair* estimator (Ferro 2014; scoringrules' ``estimator="fair"``):
    unbiased for the CRPS of the ensemble's distribution, whatever the number of members,
    so ensembles of different sizes compare fairly. NaN for a single member."""
    import scoringrules as sr

    e, t = _members(ens, truth, m_axis)
    if e.shape[0] < 2:
        return _out(np.full(np.sum(t, axis=axis).shape, np.nan), axis)
    return _out(_nanmean(sr.crps_ensemble(t, e, m_axis=0, estimator="fair"), axis), axis)


def ensemble_mean_inf(ens, truth, m_axis: int = 0) -> dict[str, float]:
    """Unbiased infinite-member estimates of the ensemble mean's pooled MSE and squared
    Pearson R² from an M-member ensemble.

    The mean of M exchangeable members is m_M = m_∞ + ε̄ with E[ε̄²] = σ²/M, ε̄ independent
    of the truth; so E[MSE_M] = MSE_∞ + E[σ²]/M and E[var(m_M)] = var(m_∞) + E[σ²]/M, while
    cov(m_M, t) estimates cov(m_∞, t). With s² the pooled unbiased member variance (ddof 1):
    ``mse_inf = MSE_M − s²/M`` and ``r2_inf = cov² / ((var(m_M) − s²/M) · var(t))``.
    NaN for one member (no s²).
    """
    e, t = _members(ens, truth, m_axis)
    m = e.shape[0]
    nan = {"mse_inf": float("nan"), "r2_inf": float("nan")}
    if m < 2:
        return nan
    mean = e.mean(axis=0)
    ok = ~np.isnan(t)
    if ok.sum() < 2:
        return nan
    s2 = float(e.var(axis=0, ddof=1)[ok].mean())
    p, q = mean[ok], t[ok]
    mse = float(((p - q) ** 2).mean())
    vp, vt = float(p.var()), float(q.var())
    cov = float(((p - p.mean()) * (q - q.mean())).mean())
    var_inf = vp - s2 / m
    return {"mse_inf": mse - s2 / m,
            "r2_inf": cov**2 / (var_inf * vt) if var_inf > 0 and vt > 0 else float("nan")}


def spread(ens, axis: Axis = None, m_axis: int = 0):
    """Root of the mean ensemble variance (ddof = 1); 0 for a single member."""
    e = np.moveaxis(np.asarray(ens, dtype=np.float64), m_axis, 0)
    if e.shape[0] < 2:
        return _out(np.zeros(np.sum(e[0], axis=axis).shape), axis)
    return _out(np.sqrt(_nanmean(e.var(axis=0, ddof=1), axis)), axis)


def spread_skill(ens, truth, axis: Axis = None, m_axis: int = 0):
    """Spread / RMSE of the ensemble mean, with the finite-ensemble factor √((M+1)/M).

    1 for a statistically consistent ensemble (Fortin et al. 2014); < 1 under-dispersive.
    NaN for a single member, which has no spread to judge.
    """
    e, t = _members(ens, truth, m_axis)
    m = e.shape[0]
    if m < 2:
        return _out(np.full(np.sum(t, axis=axis).shape, np.nan), axis)
    skill = np.sqrt(_nanmean((e.mean(axis=0) - t) ** 2, axis))
    sprd = np.sqrt(_nanmean(e.var(axis=0, ddof=1), axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return _out(np.sqrt((m + 1) / m) * sprd / skill, axis)


def rank_histogram(ens, truth, seed: int = 0, m_axis: int = 0) -> np.ndarray:
    """Counts of the truth's rank among the M members (M + 1 bins), ties broken at random,
    pooled over all points.

    Flat for a reliable ensemble, U-shaped when under-dispersive, domed when over-dispersive.
    """
    e, t = _members(ens, truth, m_axis)
    ok = np.isfinite(t)
    e, t = e[:, ok], t[ok]
    rng = np.random.default_rng(seed)
    below = (e < t).sum(axis=0)
    ties = (e == t).sum(axis=0)
    rank = below + np.floor(rng.random(t.size) * (ties + 1)).astype(int)
    return np.bincount(rank, minlength=e.shape[0] + 1)


class PooledPearson:
    """:func:`r2_pearson` over every pair of many blocks, from running sums (the same value
    as on the blocks concatenated; memory does not grow with the number of blocks)."""

    def __init__(self) -> None:
        self.n = 0
        self._s = np.zeros(5)  # Σp, Σt, Σp², Σt², Σpt

    def add(self, pred, truth) -> None:
        p, t = _pair(pred, truth)
        ok = ~np.isnan(p)
        p, t = p[ok], t[ok]
        # shift by the first block's means so the sums do not lose precision
        if self.n == 0 and p.size:
            self._c = np.array([p.mean(), t.mean()])
        if p.size:
            p, t = p - self._c[0], t - self._c[1]
            self._s += [p.sum(), t.sum(), (p * p).sum(), (t * t).sum(), (p * t).sum()]
            self.n += p.size

    def r2(self) -> float:
        if self.n < 2:
            return float("nan")
        sp, st, spp, stt, spt = self._s / self.n
        vp, vt = spp - sp**2, stt - st**2
        with np.errstate(invalid="ignore", divide="ignore"):
            return float((spt - sp * st) ** 2 / (vp * vt))
