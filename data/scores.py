"""Pointwise scores of a forecast against a reference (numpy kernels, NaN-aware).

Deterministic: RMSE, MAE, bias, R² as the squared Pearson correlation (``r2_pearson``, the
paper's R²) and as the coefficient of determination (``r2_score``), NSE and KGE.
Ensemble: CRPS (scoringrules' standard, not "fair", empirical estimator, which equals the
MAE for one member), spread, spread–skill ratio and the rank histogram.
Members are always on axis 0.
"""

from __future__ import annotations

import numpy as np
import scoringrules as sr


def _valid(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def r2_pearson(pred: np.ndarray, truth: np.ndarray) -> float:
    """Squared Pearson correlation (the paper's R²): blind to bias and scale errors."""
    p, t = _valid(pred, truth)
    return float(np.corrcoef(p, t)[0, 1] ** 2)


def r2_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """Coefficient of determination 1 − SSE/SST: penalises bias, can be negative."""
    p, t = _valid(pred, truth)
    return float(1 - ((p - t) ** 2).sum() / ((t - t.mean()) ** 2).sum())


def nse(pred: np.ndarray, truth: np.ndarray) -> float:
    """Nash–Sutcliffe efficiency; the hydrologists' name for :func:`r2_score`."""
    return r2_score(pred, truth)


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = _valid(pred, truth)
    return float(np.sqrt(((p - t) ** 2).mean()))


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = _valid(pred, truth)
    return float(np.abs(p - t).mean())


def bias(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean error, prediction minus truth."""
    p, t = _valid(pred, truth)
    return float((p - t).mean())


def kge(pred: np.ndarray, truth: np.ndarray) -> float:
    """Kling–Gupta efficiency (Gupta et al. 2009): 1 − ‖(r − 1, α − 1, β − 1)‖.

    r is the Pearson correlation, α = σ_pred/σ_truth, β = μ_pred/μ_truth.
    """
    p, t = _valid(pred, truth)
    r = np.corrcoef(p, t)[0, 1]
    a = p.std() / t.std()
    b = p.mean() / t.mean()
    return float(1 - np.sqrt((r - 1) ** 2 + (a - 1) ** 2 + (b - 1) ** 2))


def _members(ens: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, N) members and (N,) truth at points where truth and every member are finite."""
    e = np.asarray(ens, dtype=np.float64)
    e = e.reshape(e.shape[0], -1)
    t = np.asarray(truth, dtype=np.float64).ravel()
    if e.shape[1] != t.size:
        raise ValueError(f"ensemble has {e.shape[1]} points per member, truth {t.size}")
    ok = np.isfinite(t) & np.isfinite(e).all(axis=0)
    return e[:, ok], t[ok]


def crps(ens: np.ndarray, truth: np.ndarray) -> float:
    """Mean CRPS of an ensemble (members on axis 0), by scoringrules' empirical estimator."""
    e, t = _members(ens, truth)
    return float(np.mean(sr.crps_ensemble(t, e, m_axis=0, estimator="qd")))


def spread(ens: np.ndarray) -> float:
    """Root of the mean ensemble variance (ddof = 1); 0 for a single member."""
    e = np.asarray(ens, dtype=np.float64).reshape(np.shape(ens)[0], -1)
    if e.shape[0] < 2:
        return 0.0
    return float(np.sqrt(np.nanmean(e.var(axis=0, ddof=1))))


def spread_skill(ens: np.ndarray, truth: np.ndarray) -> float:
    """Spread / RMSE of the ensemble mean, with the finite-ensemble factor √((M+1)/M).

    1 for a statistically consistent ensemble (Fortin et al. 2014); < 1 under-dispersive.
    NaN for a single member, which has no spread to judge.
    """
    e, t = _members(ens, truth)
    m = e.shape[0]
    if m < 2:
        return float("nan")
    skill = np.sqrt(((e.mean(axis=0) - t) ** 2).mean())
    return float(np.sqrt((m + 1) / m) * np.sqrt(e.var(axis=0, ddof=1).mean()) / skill)


def rank_histogram(ens: np.ndarray, truth: np.ndarray, seed: int = 0) -> np.ndarray:
    """Counts of the truth's rank among the M members (M + 1 bins), ties broken at random.

    Flat for a reliable ensemble, U-shaped when under-dispersive, domed when over-dispersive.
    """
    e, t = _members(ens, truth)
    rng = np.random.default_rng(seed)
    below = (e < t).sum(axis=0)
    ties = (e == t).sum(axis=0)
    rank = below + np.floor(rng.random(t.size) * (ties + 1)).astype(int)
    return np.bincount(rank, minlength=e.shape[0] + 1)
