"""Dressing a deterministic forecast as a distribution, so that its CRPS compares with an
ensemble's: a Gaussian centred on the prediction whose spread is the model's own error on
validation days, per bin of predicted value (errors of aerosol fields grow with the value).

A point forecast's CRPS is its MAE, which any calibrated ensemble beats almost by
construction; dressed, the deterministic model is judged as the best probabilistic forecast
its validation errors allow (Gneiting & Raftery 2007; "dressing" after Roulston & Smith
2003). Everything here is on the analysis scale (log10 for log data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from finescale.data.errors import FinescaleError

BINS = 10  # quantile bins of the predicted value


@dataclass(frozen=True)
class Dressing:
    """Gaussian error model: ``sigma[i]`` for predictions in ``[edges[i-1], edges[i])``."""

    edges: tuple[float, ...]  # inner bin edges (len(sigma) - 1)
    sigma: tuple[float, ...]  # validation RMSE per bin
    days: int  # validation days it was learned on

    def to_dict(self) -> dict:
        return asdict(self)

    def scale(self, pred: np.ndarray) -> np.ndarray:
        return np.asarray(self.sigma)[np.digitize(pred, self.edges)]


def fit(pred: np.ndarray, truth: np.ndarray, bins: int = BINS) -> Dressing:
    """The validation RMSE per quantile bin of the prediction (arrays of any equal shape,
    first axis days). A bin without spread falls back to the overall RMSE."""
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    ok = np.isfinite(pred) & np.isfinite(truth)
    if ok.sum() < 2 * bins:
        raise FinescaleError(f"dressing needs validation values: {int(ok.sum())} finite "
                             f"pixels for {bins} bins")
    p, e = pred[ok], truth[ok] - pred[ok]
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)[1:-1]))
    idx = np.digitize(p, edges)
    overall = float(np.sqrt(np.mean(e**2)))
    sigma = [float(np.sqrt(np.mean(e[idx == i] ** 2))) if (idx == i).sum() > 1 else overall
             for i in range(edges.size + 1)]
    sigma = [s if s > 0 else overall for s in sigma]
    return Dressing(edges=tuple(map(float, edges)), sigma=tuple(sigma), days=int(pred.shape[0]))


def crps(pred: np.ndarray, truth: np.ndarray, dressing: Dressing) -> np.ndarray:
    """Pointwise CRPS of N(pred, σ(pred)²) against the truth (closed form, scoringrules);
    NaN where either is missing."""
    import scoringrules as sr  # here: its numba kernels compile on import

    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    ok = np.isfinite(pred) & np.isfinite(truth)
    out = np.full(pred.shape, np.nan)
    out[ok] = sr.crps_normal(truth[ok], pred[ok], dressing.scale(pred[ok]))
    return out
