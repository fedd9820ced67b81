"""The finescale dataset layout: the unit every command works on.

A dataset is a directory::

    DIR/manifest.json            variable, units, sources, regions, periods, generator
    DIR/<region>/coarse.nc       DUEXTTAU(time, lat, lon) on the coarse (MERRA-2) grid
    DIR/<region>/fine.nc         DUEXTTAU(time, lat, lon) on the fine (G5NR) grid
    DIR/<region>/static.nc       elevation, land_mask, bare_fraction on the fine grid

All NetCDF4 (HDF5) files, float32, zlib-compressed, CF-style coordinates ``time``, ``lat``
(ascending, degrees_north), ``lon`` (ascending, degrees_east, -180..180). Directories are
written to a temporary sibling and renamed into place, so a failed run never leaves a
partial dataset and never clobbers an existing one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.transforms import transform_of

FORMAT_NAME = "finescale-dataset"
FORMAT_VERSION = 1
ENGINE = "h5netcdf"
# HDF5 chunk cache of a fine file read day by day (the dashboard): ~two 32-day blocks of an
# area1-size grid, so a 40-day history and the next days come from memory, not gzip
CHUNK_CACHE = {"rdcc_nbytes": 96 * 2**20, "rdcc_nslots": 10007, "rdcc_w0": 1.0}
ENV_DATA_DIR = "FINESCALE_DATA"
KEEP_MANTISSA_BITS = 12  # relative precision 2**-12 ≈ 2.4e-4, far below any model error


IDENTITY_KEYS = ("name", "version", "config")  # of a generator record; not its timing


def generator_identity(generator: dict | None) -> dict | None:
    """What makes two generated datasets the same data (how long it took does not)."""
    return {k: generator.get(k) for k in IDENTITY_KEYS} if generator else None


def default_data_dir() -> Path:
    """Where ``finescale data prepare`` writes and every ``--data`` defaults to.

    ``$FINESCALE_DATA`` wins; otherwise ``$XDG_DATA_HOME/finescale/default``
    (``~/.local/share/finescale/default``).
    """
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "finescale" / "default"


@dataclass
class RegionData:
    """One region of a dataset: the coarse and fine series and the static fields.

    ``on_disk``: model code reads the fine record from the file day by day instead of
    loading it whole — for a server that shows a few days at a time (memory), never for
    training (random patches over all days).
    """

    name: str
    coarse: xr.DataArray
    fine: xr.DataArray
    static: xr.Dataset
    meta: dict = field(default_factory=dict)
    on_disk: bool = False
    handles: list = field(default_factory=list, repr=False)  # keep HDF5 chunk caches alive
    transform: str = "log"  # the dataset's transform kind (data.transforms.TRANSFORMS)


class DiskArray:
    """Positional reads of a lazily opened variable; each read is checked for NaN."""

    def __init__(self, da: xr.DataArray, what: str):
        self.da, self.what = da, what

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.da.shape)

    def __len__(self) -> int:
        return self.da.shape[0]

    def __getitem__(self, idx) -> np.ndarray:
        v = np.asarray(self.da[idx].values)
        if not np.isfinite(v).all():
            raise FinescaleError(f"{self.what} has NaN or infinite values in the days read; "
                                 "finescale needs complete fields")
        return v


@dataclass
class DatasetDir:
    """An opened dataset directory (lazy: arrays load on first use)."""

    path: Path
    manifest: dict
    regions: dict[str, RegionData]

    def region(self, name: str) -> RegionData:
        if name not in self.regions:
            raise FinescaleError(
                f"region {name!r} is not in dataset {self.path}; it has {', '.join(self.regions)}"
            )
        return self.regions[name]

    @property
    def variable(self) -> str:
        return str(self.manifest["variable"])

    @property
    def transform(self) -> str:
        """The transform kind chosen at import (``log`` for datasets that predate it)."""
        return transform_of(self.manifest)

    @property
    def units(self) -> str:
        return str(self.manifest.get("units", "1"))


def groom(values: np.ndarray, keep_bits: int = KEEP_MANTISSA_BITS) -> np.ndarray:
    """Zero the low mantissa bits of float32 data so that zlib compresses it well."""
    a = np.ascontiguousarray(values, dtype=np.float32).copy()
    drop = 23 - keep_bits
    bits = a.view(np.uint32)
    half = np.uint32(1 << (drop - 1))
    mask = np.uint32((0xFFFFFFFF >> drop) << drop)
    finite = np.isfinite(a)
    bits[finite] = (bits[finite] + half) & mask  # round to nearest
    return a


def _encoding(da: xr.DataArray) -> dict:
    lead = (1,) * max(da.ndim - 3, 0)  # one chunk per member
    chunks = tuple(min(s, c) for s, c in zip(da.shape, (*lead, 32, 256, 256)[-da.ndim:],
                                             strict=True))
    return {"zlib": True, "complevel": 4, "shuffle": True, "dtype": "float32", "chunksizes": chunks}


def write_netcdf(obj: xr.Dataset, path: Path) -> None:
    """Write a CF-style compressed NetCDF4 file (float32 data variables)."""
    enc = {name: _encoding(var) for name, var in obj.data_vars.items() if var.dtype.kind == "f"}
    for name in ("lat", "lon"):
        if name in obj.coords:
            enc[name] = {"dtype": "float64"}
    if "time" in obj.coords:
        enc["time"] = {"units": "days since 2000-01-01", "calendar": "proleptic_gregorian",
                       "dtype": "float64"}
    obj.to_netcdf(path, engine=ENGINE, encoding=enc)


def ensure_writable(out: Path, overwrite: bool = True) -> Path:
    """Fail early, with one line, when ``out`` cannot be written (before any long work)."""
    out = Path(out).expanduser().resolve()
    if out.exists() and not overwrite:
        raise FinescaleError(f"{out} already exists; pass --overwrite to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.probe-", dir=out.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise FinescaleError(f"cannot write {out}: {err.strerror or err}") from None
    return out


@contextmanager
def atomic_dir(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; rename it to ``out`` on success.

    An existing ``out`` is refused unless ``overwrite``; then it is replaced only after the
    new one is complete, so data are never lost on failure.
    """
    out = ensure_writable(out, overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_dataset(
    out: Path, regions: list[RegionData], manifest: dict, overwrite: bool = False
) -> Path:
    """Write regions + manifest atomically as a dataset directory; return its path."""
    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **manifest}
    manifest.setdefault("regions", {})
    with atomic_dir(out, overwrite=overwrite) as tmp:
        for reg in regions:
            d = tmp / reg.name
            d.mkdir()
            for kind, da in (("coarse", reg.coarse), ("fine", reg.fine)):
                da = da.copy(data=groom(da.values))
                write_netcdf(da.to_dataset(), d / f"{kind}.nc")
            write_netcdf(reg.static, d / "static.nc")
            manifest["regions"][reg.name] = {**describe_region(reg), **reg.meta}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return Path(out).expanduser().resolve()


def describe_region(reg: RegionData) -> dict:
    """Grid and period facts recorded in the manifest."""

    def grid(da: xr.DataArray) -> dict:
        lat, lon = da["lat"].values, da["lon"].values
        return {
            "nlat": int(lat.size), "nlon": int(lon.size),
            "lat": [float(lat[0]), float(lat[-1])], "lon": [float(lon[0]), float(lon[-1])],
            "dlat": float(np.diff(lat).mean()) if lat.size > 1 else None,
            "dlon": float(np.diff(lon).mean()) if lon.size > 1 else None,
        }

    def period(da: xr.DataArray) -> list[str]:
        t = da["time"].values
        return [str(np.datetime_as_string(t[0], "D")), str(np.datetime_as_string(t[-1], "D"))]

    return {
        "coarse_grid": grid(reg.coarse), "fine_grid": grid(reg.fine),
        "coarse_period": period(reg.coarse), "fine_period": period(reg.fine),
        "coarse_days": int(reg.coarse.sizes["time"]), "fine_days": int(reg.fine.sizes["time"]),
    }


def read_json(path: Path) -> dict:
    """A JSON manifest; a broken one is one clear error naming the file."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise FinescaleError(f"{path} is not valid JSON: {err}") from None


def _open_nc(path: Path, cache: bool = False) -> xr.Dataset:
    """``cache``: give the file an HDF5 chunk cache (:data:`CHUNK_CACHE`) for day-by-day reads."""
    if not path.exists():
        raise FinescaleError(f"dataset file missing: {path}")
    try:
        return xr.open_dataset(path, engine=ENGINE, **({"driver_kwds": CHUNK_CACHE} if cache
                                                        else {}))
    except Exception as err:  # h5py raises many types for a damaged file
        raise FinescaleError(f"cannot read {path} as NetCDF: {err}") from None


def _pin(path: Path, variable: str) -> object:
    """An open handle to ``variable``: HDF5 drops a dataset's chunk cache when its last
    handle closes, and h5netcdf opens the dataset anew for every read, so without one each
    day read decompressed its 32-day chunks again (~0.15 s per area1 day; 7 ms with it)."""
    import h5py

    return h5py.File(path, "r", **CHUNK_CACHE)[variable]


def open_dataset(path: Path | str | None = None, on_disk: bool = False) -> DatasetDir:
    """Open a dataset directory written by :func:`write_dataset` (lazily).

    ``on_disk``: see :class:`RegionData`.
    """
    root = Path(path).expanduser() if path is not None else default_data_dir()
    mpath = root / "manifest.json"
    if not root.exists():
        hint = " (run `finescale data prepare` first)" if path is None else ""
        raise FinescaleError(f"no dataset at {root}{hint}")
    if not mpath.exists():
        raise FinescaleError(f"{root} is not a finescale dataset: manifest.json is missing")
    manifest = read_json(mpath)
    if manifest.get("format") != FORMAT_NAME:
        raise FinescaleError(f"{mpath}: format is {manifest.get('format')!r}, not {FORMAT_NAME!r}")
    var = manifest["variable"]
    regions = {}
    for name, meta in manifest.get("regions", {}).items():
        parts = {k: _open_nc(root / name / f"{k}.nc", cache=on_disk and k == "fine")
                 for k in ("coarse", "fine", "static")}
        for kind in ("coarse", "fine"):
            if var not in parts[kind]:
                raise FinescaleError(f"{root / name / kind}.nc has no variable {var!r}")
        regions[name] = RegionData(
            name=name, coarse=parts["coarse"][var], fine=parts["fine"][var],
            static=parts["static"], meta=meta, on_disk=on_disk,
            handles=[_pin(root / name / "fine.nc", var)] if on_disk else [],
            transform=transform_of(manifest),
        )
    if not regions:
        raise FinescaleError(f"{mpath} lists no regions")
    return DatasetDir(path=root, manifest=manifest, regions=regions)
