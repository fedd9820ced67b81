from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.transforms import LogMinMax


def test_roundtrip_exact_above_floor():
    rng = np.random.default_rng(0)
    x = rng.lognormal(-2, 1, 10_000)
    t = LogMinMax.fit(x)
    y = t.forward(x)
    assert y.min() == pytest.approx(0) and y.max() == pytest.approx(1)
    np.testing.assert_allclose(t.inverse(y), x, rtol=1e-12)


def test_floor_and_xarray():
    t = LogMinMax(lo=-6.0, hi=0.0)
    da = xr.DataArray([0.0, 1e-7, 1e-6, 1.0], dims="x")
    y = t.forward(da)
    assert isinstance(y, xr.DataArray)
    np.testing.assert_allclose(y.values, [0, 0, 0, 1])


def test_fit_uses_all_arrays_and_serialises():
    t = LogMinMax.fit(np.array([0.01, 0.1]), np.array([1.0]))
    assert (t.lo, t.hi) == pytest.approx((-2, 0))
    assert LogMinMax.from_dict(t.to_dict()) == t


def test_bad_transform():
    with pytest.raises(FinescaleError):
        LogMinMax(lo=1, hi=1)
    with pytest.raises(FinescaleError):
        LogMinMax.fit(np.array([np.nan]))
    with pytest.raises(FinescaleError, match="unknown transform"):
        LogMinMax.from_dict({"kind": "zscore", "lo": 0, "hi": 1, "floor": 1e-6})
