"""Study regions and their grids (paper: two subregions of Asia).

The fine grid is the G5NR 0.0625° lattice as the authors index it (points are integer
multiples of 0.0625°); the coarse grid is the MERRA-2 lattice (0.5° lat × 0.625° lon,
anchored at -90 °N / -180 °E), cropped to the 1 %-buffered bounding box plus half a cell so
that every fine point has a coarse neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FINE_RES = 0.0625
COARSE_DLAT = 0.5
COARSE_DLON = 0.625
MERRA2_LAT0 = -90.0
MERRA2_LON0 = -180.0

# lat/lon features are normalised over this box (paper).
NORM_LAT = (10.875, 43.25)
NORM_LON = (34.44, 80.25)


@dataclass(frozen=True)
class Region:
    """A rectangular study region with its fine and coarse lattices."""

    name: str
    bbox: tuple[float, float, float, float]  # (lat_min, lat_max, lon_min, lon_max), buffered
    fine_lat: tuple[float, float]  # first and last fine latitude
    fine_lon: tuple[float, float]
    description: str = ""
    fine_res: float = FINE_RES
    coarse_dlat: float = COARSE_DLAT
    coarse_dlon: float = COARSE_DLON

    def fine_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Ascending fine latitudes and longitudes (float64, exact multiples of the step)."""
        return _axis(*self.fine_lat, self.fine_res), _axis(*self.fine_lon, self.fine_res)

    def coarse_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """MERRA-2 cell centres covering the bbox plus half a cell on every side."""
        lat_min, lat_max, lon_min, lon_max = self.bbox
        lat = _lattice(lat_min, lat_max, MERRA2_LAT0, self.coarse_dlat)
        lon = _lattice(lon_min, lon_max, MERRA2_LON0, self.coarse_dlon)
        return lat, lon

    @property
    def fine_shape(self) -> tuple[int, int]:
        lat, lon = self.fine_grid()
        return lat.size, lon.size


def _axis(first: float, last: float, step: float) -> np.ndarray:
    n = round((last - first) / step) + 1
    return first + step * np.arange(n)


def _lattice(lo: float, hi: float, origin: float, step: float) -> np.ndarray:
    """Lattice points origin + k*step whose cells touch [lo, hi]."""
    k0 = int(np.floor((lo - step / 2 - origin) / step + 0.5))
    k1 = int(np.ceil((hi + step / 2 - origin) / step - 0.5))
    k = np.arange(k0, k1 + 1)
    pts = origin + k * step
    return pts[(pts + step / 2 > lo - step / 2) & (pts - step / 2 < hi + step / 2)]


AREA0 = Region(
    name="area0",
    bbox=(29.22, 43.41, 60.31, 80.43),
    fine_lat=(29.3125, 43.25),
    fine_lon=(60.4375, 80.25),
    description="Afghanistan + Kyrgyzstan",
)
AREA1 = Region(
    name="area1",
    bbox=(10.65, 37.64, 34.28, 56.60),
    fine_lat=(10.875, 37.375),
    fine_lon=(34.4375, 56.375),
    description="UAE, Iraq, Kuwait, Qatar, Saudi Arabia, Djibouti",
)
REGIONS: dict[str, Region] = {r.name: r for r in (AREA0, AREA1)}
