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


def test_standard_and_identity_roundtrip_and_bounds():
    from finescale.data.transforms import fit_transform, transform_from_dict

    rng = np.random.default_rng(1)
    x = rng.normal(-1.0, 4.0, 5_000)
    st = fit_transform("standard", x)
    y = st.forward(x)
    assert abs(y.mean()) < 1e-9 and abs(y.std() - 1) < 1e-9
    np.testing.assert_allclose(st.inverse(y), x, rtol=1e-12)
    lo, hi = st.bounds  # the training range, widened by half its width on each side
    assert lo < y.min() - 0.4 * np.ptp(y) and hi > y.max() + 0.4 * np.ptp(y)
    ident = fit_transform("none", x)
    np.testing.assert_array_equal(ident.forward(x), x)
    for t in (st, ident, fit_transform("log", np.exp(x))):
        assert transform_from_dict(t.to_dict()) == t
    assert LogMinMax.fit(np.exp(x)).bounds == (-0.5, 1.5)


def test_choose_kind_and_log_check():
    from finescale.data.transforms import analysis, check_values, choose_transform

    rng = np.random.default_rng(2)
    assert choose_transform(rng.lognormal(-2, 1, 1000), "AOT")[0] == "log"
    assert choose_transform(rng.normal(290, 5, 1000), "t2m")[0] == "standard"  # positive, symmetric
    kind, why = choose_transform(rng.normal(0, 3, 1000), "u10")
    assert kind == "standard" and "values <= 0" in why
    with pytest.raises(FinescaleError, match="u10 has values <= 0"):
        check_values("log", np.array([1.0, -0.5]), "u10", "fine.nc")
    check_values("standard", np.array([1.0, -0.5]), "u10", "fine.nc")
    np.testing.assert_allclose(analysis("log", np.array([100.0, 0.0])), [2.0, -6.0])
    np.testing.assert_array_equal(analysis("standard", np.array([-3.0])), [-3.0])
    with pytest.raises(FinescaleError, match="unknown transform 'sqrt'"):
        check_values("sqrt", np.array([1.0]), "x", "f")
