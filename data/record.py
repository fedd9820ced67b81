"""The reconstruction store: a long downscaled record as one CF-style zarr store.

Layout (``finescale reconstruct``)::

    VAR(member, time, lat, lon)          generated, physical units, NaN where not yet made
    VAR_truth(time, lat, lon)            the fine reference where it exists, NaN elsewhere
    VAR_coarse(time, lat_coarse, lon_coarse)   the coarse input
    slab_done(segment, member_block)     1 once a slab's fields are all written

The period is cut into *segments* of ``segment_days`` (a setting, never derived from the
number of workers) and the members into *blocks*; a slab is one segment × one block. The
generated variable is chunked ``(1, segment_days, tile, tile)``, so a slab is whole chunks:
workers never write the same chunk, and a slab's chunks are rewritten whole when a killed
run resumes. ``slab_done`` is written after its slab's fields (zarr writes each chunk file
atomically), so a slab marked done is complete. Settings live in the store's attributes; a
store is resumed only with the same settings.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.hashing import file_sha256
from finescale.data.seasons import daily

TITLE = "finescale reconstruction"
SETTINGS_ATTR = "finescale_settings"
HASH_ATTR = "finescale_settings_hash"
DONE = "slab_done"


@dataclass(frozen=True)
class RecordLayout:
    """Where every slab of a record lies: days, segments, member blocks and chunks."""

    start: str
    end: str
    members: int
    segment_days: int = 60
    member_block: int = 0  # members per block; 0 = all members in one block
    tile: int = 128  # spatial chunk side (grid points)

    def __post_init__(self) -> None:
        for name in ("members", "segment_days", "tile"):
            if getattr(self, name) < 1:
                raise FinescaleError(f"{name.replace('_', '-')} must be >= 1, got "
                                     f"{getattr(self, name)}")
        if self.member_block < 0:
            raise FinescaleError(f"member-block must be >= 0, got {self.member_block}")
        self.days  # noqa: B018 - a bad or empty period is refused here, not mid-run

    @cached_property
    def days(self) -> pd.DatetimeIndex:
        return daily(self.start, self.end)

    @property
    def block(self) -> int:
        return self.member_block or self.members

    @property
    def n_segments(self) -> int:
        return -(-self.days.size // self.segment_days)

    @property
    def n_blocks(self) -> int:
        return -(-self.members // self.block)

    def segment(self, k: int) -> slice:
        return slice(k * self.segment_days, min((k + 1) * self.segment_days, self.days.size))

    def members_of(self, b: int) -> slice:
        return slice(b * self.block, min((b + 1) * self.block, self.members))

    def block_size(self, b: int) -> int:
        m = self.members_of(b)
        return m.stop - m.start

    def slabs(self) -> list[tuple[int, int]]:
        return [(k, b) for k in range(self.n_segments) for b in range(self.n_blocks)]

    def chunks(self, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        return (1, self.segment_days, min(self.tile, shape[0]), min(self.tile, shape[1]))


def settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def settings_of(rec: xr.Dataset) -> dict:
    """The settings a record was made with (from its attributes), in today's names: a
    store written before the sampler's ``kind`` was named ``protocol`` resumes."""
    settings = json.loads(rec.attrs[SETTINGS_ATTR])
    sampler = settings.get("sampler")
    if isinstance(sampler, dict) and "kind" in sampler and "protocol" not in sampler:
        sampler["protocol"] = sampler.pop("kind")
    return settings


def _open(path: Path, chunks=None) -> xr.Dataset:
    """The store, checked to be a finescale record (one line if not)."""
    try:
        rec = xr.open_zarr(path, chunks=chunks)
    except Exception as err:
        raise FinescaleError(f"{path} exists but is not a readable zarr store ({err})") from None
    if rec.attrs.get("title") != TITLE or SETTINGS_ATTR not in rec.attrs:
        raise FinescaleError(f"{path} exists and is not a finescale reconstruction; choose "
                             "another --out")
    return rec


def read_layout(path: Path) -> RecordLayout:
    """The layout a record was made with (from its attributes)."""
    return RecordLayout(**json.loads(_open(path).attrs["layout"]))


def read_settings(path: Path) -> dict:
    return settings_of(_open(path))


def check_settings(path: Path, settings: dict) -> None:
    """Refuse to resume a store made with other settings (naming what differs)."""
    old = read_settings(path)
    if settings_hash(old) == settings_hash(settings):
        return
    diff = [f"{k}: {old.get(k)!r} there, {settings.get(k)!r} now"
            for k in sorted(set(old) | set(settings)) if old.get(k) != settings.get(k)]
    raise FinescaleError(f"{path} exists with other settings ({'; '.join(diff[:4])}); resume "
                         "it with the same command and finescale version, or choose another --out")


def packing(keepbits: int) -> dict:
    """The members' zarr encoding for ``keepbits`` mantissa bits kept (0: lossless float32,
    Blosc lz4 as zarr's default). Kept bits: the rest zeroed (numcodecs ``BitRound``, a
    relative error ≤ 2^-(keepbits+1)), then Blosc zstd — still float32 for every reader.
    On one year of area0 (scripts/pack_error.py): 7 bits 0.34× the size at ≤ 0.0017 log10
    error, 10 bits 0.47× at ≤ 0.0002; CF int16 packing 0.37× but 0.14 log10 at small values
    (its step is absolute)."""
    if not keepbits:
        return {}
    from numcodecs import BitRound, Blosc

    return {"filters": [BitRound(keepbits=keepbits)],
            "compressors": (Blosc("zstd", 5, Blosc.SHUFFLE),)}


def create_store(path: Path, template: xr.Dataset, layout: RecordLayout, settings: dict,
                 sources: dict[str, xr.DataArray], software: dict | None = None,
                 keepbits: int = 0) -> None:
    """Write the store's metadata and its copied inputs (coarse, truth), atomically.

    ``template``'s data variables are lazy (dask) arrays: only their metadata is written.
    ``sources`` maps template variables to (lazy) arrays on their own days: each is copied
    in one segment at a time (memory: one segment) where its days meet the period. The store
    appears under ``path`` only when complete (a sibling temporary is renamed into place).
    """
    var = settings["variable"]
    ny, nx = template[var].shape[-2:]
    ds = template.copy()
    ds[DONE] = xr.DataArray(_lazy_zeros((layout.n_segments, layout.n_blocks), np.int8, (1, 1)),
                            dims=("segment", "member_block"),
                            attrs={"long_name": "1 once the slab's fields are all written"})
    ds.attrs.update({"title": TITLE, SETTINGS_ATTR: json.dumps(settings, sort_keys=True,
                                                               default=str),
                     HASH_ATTR: settings_hash(settings), "layout": json.dumps(asdict(layout)),
                     "software": json.dumps(software or {})})
    c = layout.chunks((ny, nx))
    enc = {var: {"chunks": c, "_FillValue": np.float32(np.nan), **packing(keepbits)},
           DONE: {"chunks": (1, 1), "_FillValue": None}}
    for name in sources:
        da = template[name]
        spatial = c[2:] if da.dims[1:] == ("lat", "lon") else da.shape[1:]
        enc[name] = {"chunks": (layout.segment_days, *spatial),
                     "_FillValue": np.float32(np.nan)}
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # a template left by a run killed while writing it
    try:
        ds.to_zarr(tmp, mode="w", compute=False, encoding=enc, consolidated=True,
                  zarr_format=2,  # consolidated metadata, readable by every zarr tool
                  safe_chunks=False)  # lazy placeholders: nothing of them is written
        import zarr

        g = zarr.open_group(str(tmp), mode="r+")
        for name, src in sources.items():
            have = pd.DatetimeIndex(src["time"].values)
            for k in range(layout.n_segments):
                days = layout.days[layout.segment(k)]
                if have.isin(days).any():
                    g[name][layout.segment(k)] = np.asarray(
                        src.reindex(time=days).values, dtype=np.float32)
        tmp.replace(path)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise FinescaleError(f"no space left writing {path} (its template): free some "
                                 "and run the same command again") from None
        raise


def _lazy_zeros(shape, dtype, chunks):
    import dask.array as dsa

    return dsa.zeros(shape, dtype=dtype, chunks=chunks)


def done_slabs(path: Path) -> np.ndarray:
    """(segment, member_block) booleans: which slabs are complete."""
    import zarr

    return np.asarray(zarr.open_group(str(path), mode="r")[DONE][...]).astype(bool)


def write_slab(path: Path, variable: str, layout: RecordLayout, slab: tuple[int, int],
               values: np.ndarray) -> None:
    """Write one slab's fields (members of the block, days of the segment, lat, lon), seal
    it (each chunk file's size and SHA-256), then mark it done. A full disk is one line;
    the slab stays not done, so the same command resumes it once space is freed."""
    import zarr

    k, b = slab
    with disk_errors(path, f"slab {k}, member block {b}"):
        g = zarr.open_group(str(path), mode="r+")
        g[variable][layout.members_of(b), layout.segment(k)] = values.astype(np.float32)
        seal_slab(path, variable, layout, slab)
        g[DONE][k, b] = 1


@contextmanager
def disk_errors(path: Path, what: str) -> Iterator[None]:
    """A full disk or quota while writing ``path`` becomes one line."""
    try:
        yield
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise FinescaleError(f"no space left writing {path} ({what}): free some and run the "
                             "same command again; every finished slab is kept") from None


# --- integrity: each slab's chunk files, sealed when written ------------------------------

SEALS = ".finescale-slabs"


def slab_chunks(path: Path, variable: str, layout: RecordLayout, slab: tuple[int, int]
                ) -> list[Path]:
    """The chunk files that hold one slab of the generated variable (zarr format 2)."""
    meta = json.loads((Path(path) / variable / ".zarray").read_text())
    sep = meta.get("dimension_separator") or "."
    ny, nx = meta["shape"][2:]
    ty, tx = meta["chunks"][2:]
    k, b = slab
    m = layout.members_of(b)
    return [Path(path) / variable / sep.join(map(str, (i, k, y, x)))
            for i in range(m.start, m.stop) for y in range(-(-ny // ty))
            for x in range(-(-nx // tx))]


def seal_slab(path: Path, variable: str, layout: RecordLayout, slab: tuple[int, int]) -> None:
    """Record each chunk file's size and SHA-256 (atomically) before the slab is marked
    done: a chunk lost or altered afterwards is found by :func:`damaged_slabs`."""
    d = Path(path) / SEALS
    d.mkdir(exist_ok=True)
    seal = {f.name: [f.stat().st_size, file_sha256(f)]
            for f in slab_chunks(path, variable, layout, slab)}
    tmp = d / f".{slab[0]}-{slab[1]}.json.tmp"
    tmp.write_text(json.dumps(seal))
    tmp.replace(d / f"{slab[0]}-{slab[1]}.json")


def damaged_slabs(path: Path, deep: bool = False) -> list[tuple[int, int]]:
    """Slabs marked done whose chunk files are missing or differ from their seal (size; with
    ``deep`` also SHA-256). Slabs of stores made before seals existed are checked for
    missing chunks only."""
    path = Path(path)
    rec = _open(path)  # its attributes once: settings and layout
    s, layout = settings_of(rec), RecordLayout(**json.loads(rec.attrs["layout"]))
    done = done_slabs(path)
    bad = []
    for k, b in layout.slabs():
        if not done[k, b]:
            continue
        files = slab_chunks(path, s["variable"], layout, (k, b))
        sealed = path / SEALS / f"{k}-{b}.json"
        seal = json.loads(sealed.read_text()) if sealed.exists() else {}
        for f in files:
            if not f.exists() or (f.name in seal and (
                    f.stat().st_size != seal[f.name][0]
                    or (deep and file_sha256(f) != seal[f.name][1]))):
                bad.append((k, b))
                break
    return bad


def unmark(path: Path, slabs: list[tuple[int, int]]) -> None:
    """Mark slabs not done (their chunks are rewritten by the next run)."""
    import zarr

    g = zarr.open_group(str(path), mode="r+")
    for k, b in slabs:
        g[DONE][k, b] = 0
        (Path(path) / SEALS / f"{k}-{b}.json").unlink(missing_ok=True)


@contextmanager
def record_lock(path: Path) -> Iterator[None]:
    """One run per store at a time: an exclusive lock on ``.NAME.lock`` beside the store
    (released by the kernel when the process ends, however it ends). A second run is
    refused with one line naming the first."""
    import fcntl
    import os
    import socket

    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    try:
        fh = open(lock, "a+")  # held for the run
    except OSError as err:
        raise FinescaleError(f"cannot write {lock} (the store's lock): {err.strerror}") \
            from None
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            who = fh.read().strip() or "another process"
            raise FinescaleError(f"{path} is being made by {who}; wait for it to finish, or "
                                 "stop it first (both would compute the same slabs)") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        yield
    finally:
        fh.close()


def open_record(path: Path | str) -> xr.Dataset:
    """A reconstruction store, lazily (dask): nothing is read until asked for."""
    return _open(Path(path), chunks={})


def is_record(path: Path) -> bool:
    try:
        read_settings(Path(path))
    except FinescaleError:
        return False
    return True


def summary(path: Path) -> str:
    """``finescale data info STORE`` for a reconstruction: what it holds and what is missing."""
    path = Path(path)
    ds = open_record(path)
    s = settings_of(ds)
    layout = RecordLayout(**json.loads(ds.attrs["layout"]))
    done = ds[DONE].values.astype(bool)
    var = s["variable"]
    da = ds[var]
    lines = [f"record   {path}",
             f"variable {var} [{da.attrs.get('units', '?')}] (member, time, lat, lon) "
             f"{' × '.join(map(str, da.shape))}, chunks {layout.chunks(da.shape[-2:])}",
             f"region   {s['region']}, models {s['kind']} ({', '.join(s['seasons'])}), "
             f"transform {s['transform']}",
             f"period   {layout.days[0]:%Y-%m-%d} .. {layout.days[-1]:%Y-%m-%d}, "
             f"{layout.days.size} days, {layout.members} members, seed {s['seed']}",
             f"sampler  {s['sampler']}",
             f"slabs    {int(done.sum())} of {done.size} complete (segments of "
             f"{layout.segment_days} days × blocks of {layout.block} members; "
             + ("chained: each block continues its history" if s.get("chain") else
                f"independent, spin-up {s['spinup']} days") + ")"]
    missing = [(k, b) for k, b in layout.slabs() if not done[k, b]]
    for k, b in missing[:8]:
        d = layout.days[layout.segment(k)]
        m = layout.members_of(b)
        lines.append(f"  missing {d[0]:%Y-%m-%d} .. {d[-1]:%Y-%m-%d}, members "
                     f"{m.start}..{m.stop - 1}")
    if len(missing) > 8:
        lines.append(f"  … and {len(missing) - 8} more missing slabs")
    damaged = damaged_slabs(path, deep=True)
    for k, b in damaged[:8]:
        d = layout.days[layout.segment(k)]
        lines.append(f"  damaged {d[0]:%Y-%m-%d} .. {d[-1]:%Y-%m-%d}, member block {b}: "
                     "missing or altered chunks (the same reconstruct command makes it again)")
    if not missing and not damaged:
        lines.append("  complete: resume not needed")
    return "\n".join(lines)


def nearest_point(rec: xr.Dataset, lat: float, lon: float) -> tuple[float, float]:
    """The grid point nearest (lat, lon); a point off the grid is refused (one line)."""
    la, lo = rec["lat"].values, rec["lon"].values
    hy, hx = abs(la[1] - la[0]) / 2, abs(lo[1] - lo[0]) / 2
    if not (la.min() - hy <= lat <= la.max() + hy and lo.min() - hx <= lon <= lo.max() + hx):
        raise FinescaleError(f"({lat:.3f}°N, {lon:.3f}°E) is outside the record's grid "
                             f"(lat {la.min():.2f}..{la.max():.2f}, lon {lo.min():.2f}.."
                             f"{lo.max():.2f})")
    return float(la[np.abs(la - lat).argmin()]), float(lo[np.abs(lo - lon).argmin()])


def point_series(rec: xr.Dataset, lat: float, lon: float, start=None, end=None
                 ) -> xr.Dataset:
    """One point's series over [start, end]: every member, the ensemble mean, min and max,
    the coarse input (its nearest coarse cell) and the truth where it exists. Reads only
    the chunks that hold the point."""
    var = settings_of(rec)["variable"]
    la, lo = nearest_point(rec, lat, lon)
    window = slice(start, end)
    members = rec[var].sel(lat=la, lon=lo).sel(time=window).load()
    out = xr.Dataset({
        "members": members, "mean": members.mean("member"), "low": members.min("member"),
        "high": members.max("member"),
        "coarse": rec[f"{var}_coarse"].sel(lat_coarse=la, lon_coarse=lo, method="nearest")
        .sel(time=window).drop_vars(["lat_coarse", "lon_coarse"]).load(),
        "truth": rec[f"{var}_truth"].sel(lat=la, lon=lo).sel(time=window).load()})
    out.attrs.update(lat=la, lon=lo, units=rec[var].attrs.get("units", ""), variable=var)
    return out


def season_climatology(rec: xr.Dataset, season: str) -> xr.DataArray:
    """The season's mean of the ensemble mean over every day of the record in that season
    (dask: out of core, chunk by chunk). Days not yet generated (NaN) are skipped."""
    from finescale.data.seasons import in_season

    var = settings_of(rec)["variable"]
    t = pd.DatetimeIndex(rec["time"].values)
    days = t[in_season(t, season)]
    if days.size == 0:
        raise FinescaleError(f"the record has no {season} day")
    clim = rec[var].sel(time=days).mean(("member", "time"), skipna=True).compute()
    clim.attrs.update(rec[var].attrs, season=season, days=int(days.size))
    return clim
