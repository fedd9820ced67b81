"""Measure the two access patterns of a reconstruction store against its spatial tile.

A synthetic record on an area1-size grid (425 × 352) is written through the same layout
code as ``finescale reconstruct`` (time chunks of one segment, square spatial tiles), then
read the two ways a scientist reads a record: one day's map (one member, and the ensemble
mean) and one point's whole series (every member). Prints JSON, with the reads of the full
2000-2024 × 8-member record extrapolated (a map read does not grow with the record; a point
read grows with years × members).

    python scripts/record_reads.py --work /tmp/reads --tiles 32,64,128
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import dask.array as dsa
import numpy as np
import xarray as xr

from finescale.data.record import RecordLayout, create_store, open_record, point_series, write_slab

VAR = "DUEXTTAU"


def _synthetic(rng, shape) -> np.ndarray:
    """Smooth log-normal fields with fine noise: compresses like a generated record."""
    _, t, ny, nx = shape
    y, x = np.meshgrid(np.linspace(0, 6, ny), np.linspace(0, 6, nx), indexing="ij")
    trend = np.linspace(0, 1, t)[None, :, None, None]
    base = np.sin(y)[None, None] + np.cos(x)[None, None] + trend
    return (10 ** (-1.5 + 0.3 * base + 0.2 * rng.standard_normal(shape))).astype(np.float32)


def build(path: Path, lay: RecordLayout, ny: int, nx: int) -> float:
    lat, lon = np.linspace(10.9, 37.4, ny), np.linspace(34.4, 56.4, nx)
    shape = (lay.members, lay.days.size, ny, nx)
    tmpl = xr.Dataset(
        {VAR: (("member", "time", "lat", "lon"),
               dsa.full(shape, np.nan, dtype=np.float32, chunks=lay.chunks((ny, nx)))),
         f"{VAR}_truth": (("time", "lat", "lon"),
                          dsa.full(shape[1:], np.nan, dtype=np.float32)),
         f"{VAR}_coarse": (("time", "lat_coarse", "lon_coarse"),
                           dsa.full((shape[1], ny // 8, nx // 8), np.nan, dtype=np.float32))},
        coords={"member": np.arange(lay.members), "time": lay.days, "lat": lat, "lon": lon,
                "lat_coarse": lat[::8][: ny // 8], "lon_coarse": lon[::8][: nx // 8]})
    settings = {"variable": VAR, "transform": "log", "region": "synthetic",
                "kind": "diffusion", "seasons": [], "seed": 0, "sampler": {}, "spinup": 0}
    shutil.rmtree(path, ignore_errors=True)
    create_store(path, tmpl, lay, settings, {})
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for k, b in lay.slabs():
        n = lay.segment(k).stop - lay.segment(k).start
        write_slab(path, VAR, lay, (k, b), _synthetic(rng, (lay.block_size(b), n, ny, nx)))
    return time.perf_counter() - t0


def _best(fn, repeats: int = 3) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--work", type=Path, default=Path("/tmp/finescale-reads"))
    p.add_argument("--tiles", default="32,64,128")
    p.add_argument("--days", type=int, default=360)
    p.add_argument("--members", type=int, default=2)
    p.add_argument("--segment-days", type=int, default=60)
    a = p.parse_args()
    ny, nx = 425, 352
    rows = []
    for tile in (int(t) for t in a.tiles.split(",")):
        lay = RecordLayout("2010-01-01", str(np.datetime64("2010-01-01") + a.days - 1),
                           members=a.members, segment_days=a.segment_days, tile=tile)
        path = a.work / f"tile{tile}.zarr"
        write_s = build(path, lay, ny, nx)
        rec = open_record(path)
        day = rec["time"].values[a.days // 2]
        t_map = _best(lambda r=rec, d=day: r[VAR].sel(time=d).isel(member=0).load())
        t_mean = _best(lambda r=rec, d=day: r[VAR].sel(time=d).mean("member").load())
        t_point = _best(lambda r=rec: point_series(r, 24.0, 45.0))
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        scale = 25 * 365.25 / a.days * 8 / a.members  # point reads of 2000-2024 × 8 members
        rows.append({"tile": tile, "chunks": list(lay.chunks((ny, nx))),
                     "store_mb": round(size / 2**20, 1), "write_s": round(write_s, 2),
                     "map_one_member_s": round(t_map, 4),
                     "map_ensemble_mean_s": round(t_mean, 4),
                     "point_series_s": round(t_point, 4),
                     "point_series_full_record_s_projected": round(t_point * scale, 2)})
        print(json.dumps(rows[-1]), flush=True)
        shutil.rmtree(path, ignore_errors=True)
    print(json.dumps({"grid": [ny, nx], "days": a.days, "members": a.members,
                      "segment_days": a.segment_days, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
