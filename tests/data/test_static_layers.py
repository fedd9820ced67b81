"""Static layers for any grid on Earth, from the shipped global file."""

from __future__ import annotations

import numpy as np
import pytest

from finescale.data.errors import FinescaleError
from finescale.data.generator import load_static
from finescale.data.static_layers import static_on_grid


def test_the_global_layers_reproduce_the_study_area_file():
    """The same sources and the same function: equal but for land-mask ties (a fine point
    half-way between two 1/12° cells) and the elevation of those coastal cells."""
    st = load_static().isel(lat=slice(100, 300), lon=slice(200, 500))
    g = static_on_grid(st.lat.values, st.lon.values)
    tie = g.land_mask.values != st.land_mask.values
    assert tie.mean() < 0.01
    np.testing.assert_allclose(g.elevation.values[~tie], st.elevation.values[~tie], atol=1e-3)
    np.testing.assert_allclose(g.bare_fraction.values, st.bare_fraction.values, atol=1e-5)


@pytest.mark.parametrize(("lat", "lon", "elev", "bare"), [
    ((40, 46), (95, 110), (900, 2000), (0.5, 1.0)),     # the Gobi: high, barren
    ((35, 45), (-104, -95), (400, 1200), (0.0, 0.05)),  # the Great Plains: farmland
    ((12, 18), (-5, 10), (200, 600), (0.1, 0.7)),       # the Sahel
])
def test_layers_anywhere(lat, lon, elev, bare):
    s = static_on_grid(np.arange(*lat, 0.0625), np.arange(*lon, 0.0625))
    assert elev[0] < float(s.elevation.mean()) < elev[1]
    assert bare[0] <= float(s.bare_fraction.mean()) <= bare[1]
    assert float(s.land_mask.mean()) > 0.99


def test_a_grid_at_the_dateline_wraps_and_sea_is_zero():
    s = static_on_grid(np.arange(-19, -15, 0.0625), np.arange(176, 179.95, 0.0625))  # Fiji
    assert 0 < float(s.land_mask.mean()) < 0.3
    assert (s.elevation.values[s.land_mask.values == 0] == 0).all()
    assert float(s.elevation.max()) > 300


def test_latitudes_beyond_the_poles_are_refused():
    with pytest.raises(FinescaleError, match=r"outside -90\.\.90"):
        static_on_grid(np.array([89.0, 91.0]), np.array([0.0, 1.0]))
