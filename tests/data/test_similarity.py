from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import wasserstein_distance

from finescale.data.errors import FinescaleError
from finescale.data.similarity import season_similarity, similarity_table


def _series(values: np.ndarray, days: pd.DatetimeIndex) -> xr.DataArray:
    return xr.DataArray(values, dims=("time", "lat", "lon"),
                        coords={"time": days, "lat": np.arange(values.shape[1]),
                                "lon": np.arange(values.shape[2])})


def test_identical_distributions_are_zero_and_shift_is_measured():
    rng = np.random.default_rng(0)
    days = pd.date_range("2006-06-01", periods=10)
    x = rng.lognormal(-2, 0.5, (10, 8, 8))
    assert season_similarity(_series(x, days), _series(x[:, ::-1], days), "JJA")["mean"] == \
        pytest.approx(0, abs=1e-12)
    s = season_similarity(_series(x, days), _series(x * 10, days), "JJA")
    # one decade shift in log10, scaled by the joint log range
    span = np.log10(x * 10).max() - np.log10(x).min()
    assert s["pooled"] == pytest.approx(1 / span, rel=1e-6)
    lx = (np.log10(x) - np.log10(x).min()) / span
    assert s["mean"] == pytest.approx(np.mean([wasserstein_distance(a.ravel(), (a + 1 / span)
                                                                   .ravel()) for a in lx]))


def test_no_common_day_is_an_error():
    x = np.ones((3, 2, 2))
    with pytest.raises(FinescaleError, match="no day"):
        season_similarity(_series(x, pd.date_range("2006-06-01", periods=3)),
                          _series(x, pd.date_range("2006-07-01", periods=3)), "JJA")


def test_table_on_the_default(small):
    t = similarity_table(small)
    assert set(t.region) == {"area0", "area1"} and len(t) == 10
    assert (t[["mean", "median", "pooled"]] < 0.1).all().all()
