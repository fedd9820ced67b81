"""A deterministic forecast dressed with its validation errors: a fair CRPS."""

from __future__ import annotations

import numpy as np
import pytest

from finescale.data import dressing, scores
from finescale.data.errors import FinescaleError


def _case(rng, n=20000):
    pred = rng.normal(0, 1, n)
    # errors grow with the predicted value: a heteroscedastic model
    sd = np.where(pred > 0, 0.4, 0.1)
    return pred, pred + rng.normal(0, 1, n) * sd, sd


def test_the_spread_is_learned_per_value_bin():
    pred, truth, sd = _case(np.random.default_rng(0))
    d = dressing.fit(pred, truth)
    away = np.abs(pred) > 0.3  # the bins next to the jump at 0 mix both spreads
    np.testing.assert_allclose(d.scale(pred)[away], sd[away], rtol=0.15)
    assert len(d.sigma) == len(d.edges) + 1 == dressing.BINS and d.days == pred.shape[0]


def test_dressed_crps_is_below_the_mae_and_matches_a_large_ensemble():
    """Dressed with the right spread, the CRPS of a point forecast is below its MAE (the
    CRPS of the point itself) and equals that of a large ensemble drawn from the dressing;
    dressed too narrow or too wide, it is worse."""
    rng = np.random.default_rng(1)
    pred, truth, _ = _case(rng, 4000)
    val_p, val_t, _ = _case(rng)
    d = dressing.fit(val_p, val_t)
    c = np.nanmean(dressing.crps(pred, truth, d))
    mae = np.mean(np.abs(pred - truth))
    assert c < 0.8 * mae
    ens = pred + rng.normal(0, 1, (200, pred.size)) * d.scale(pred)
    assert c == pytest.approx(float(scores.crps_fair(ens, truth)), rel=0.03)
    for factor in (0.3, 3.0):
        off = dressing.Dressing(d.edges, tuple(factor * s for s in d.sigma), d.days)
        assert np.nanmean(dressing.crps(pred, truth, off)) > 1.05 * c


def test_missing_values_and_too_little_validation():
    pred, truth, _ = _case(np.random.default_rng(2), 200)
    truth[:5] = np.nan
    d = dressing.fit(pred, truth)
    out = dressing.crps(pred, truth, d)
    assert np.isnan(out[:5]).all() and np.isfinite(out[5:]).all()
    with pytest.raises(FinescaleError, match="dressing needs"):
        dressing.fit(pred[:10], truth[:10])
