"""How small can a record store be, and what does it cost in precision? Measured on one
year of a reconstruction store's members (zarr format 2, the store's 60-day × 128² chunks):

- ``float32``: as ``reconstruct`` writes it (Blosc lz4, level 5);
- ``int16_cf``: CF packing (``scale_factor``/``add_offset`` over the year's range), the
  usual halving — its step is absolute, so small values of a log-normal field lose their
  relative precision;
- ``bitround_K``: float32 with all but K mantissa bits zeroed (numcodecs ``BitRound``, a
  relative error ≤ 2^-(K+1)), then Blosc zstd: still floats for every reader.

For each: bytes on disk, ratio to ``float32``, and the error on the analysis scale (log10
for log data): max and RMS, and the change of the pooled R² of the ensemble mean against
the truth where the store has it. Prints JSON.

Usage: python scripts/pack_error.py STORE [--year 2005] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr
from numcodecs import BitRound, Blosc

from finescale.data.scores import r2_pearson
from finescale.data.transforms import analysis


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _write(da: xr.DataArray, path: Path, enc: dict) -> xr.DataArray:
    da.to_dataset(name="v").to_zarr(path, mode="w", zarr_format=2, encoding={"v": enc},
                                    consolidated=True)
    with xr.open_zarr(path) as back:
        return back["v"].load()


def measure(store: Path, year: int) -> dict:
    with xr.open_zarr(store) as ds:
        var = json.loads(ds.attrs["finescale_settings"]).get("variable") or next(
            v for v in ds.data_vars if f"{v}_truth" in ds)
        sel = ds.sel(time=str(year))
        gen = sel[var].load()
        truth = sel[f"{var}_truth"].load() if f"{var}_truth" in ds else None
        transform = json.loads(ds.attrs["finescale_settings"]).get("transform", "log")
    chunks = (1, 60, 128, 128)
    lo, hi = float(gen.min()), float(gen.max())
    scale = (hi - lo) / 65533
    variants = {
        "float32": {"chunks": chunks, "compressors": (Blosc("lz4", 5, Blosc.SHUFFLE),)},
        "int16_cf": {"chunks": chunks, "dtype": "int16", "scale_factor": scale,
                     "add_offset": lo + 32766 * scale, "_FillValue": np.int16(-32768),
                     "compressors": (Blosc("lz4", 5, Blosc.SHUFFLE),)},
    }
    for k in (7, 10):
        variants[f"bitround_{k}"] = {"chunks": chunks, "filters": [BitRound(keepbits=k)],
                                     "compressors": (Blosc("zstd", 5, Blosc.SHUFFLE),)}
    ref = analysis(transform, gen.values.astype(np.float64))
    base_r2 = None
    if truth is not None:
        t = analysis(transform, truth.values.astype(np.float64))
        base_r2 = float(r2_pearson(ref.mean(axis=0), t))
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for name, enc in variants.items():
            back = _write(gen, Path(d) / f"{name}.zarr", enc)
            err = analysis(transform, back.values.astype(np.float64)) - ref
            row = {"bytes": _size(Path(d) / f"{name}.zarr"),
                   "max_error": float(np.nanmax(np.abs(err))),
                   "rms_error": float(np.sqrt(np.nanmean(err**2)))}
            if truth is not None:
                got = analysis(transform, back.values.astype(np.float64)).mean(axis=0)
                row["r2_change"] = float(r2_pearson(got, t)) - base_r2
            rows[name] = row
    for row in rows.values():
        row["ratio"] = round(row["bytes"] / rows["float32"]["bytes"], 3)
    return {"store": store.name, "year": year, "variable": var, "transform": transform,
            "members": int(gen.sizes["member"]), "days": int(gen.sizes["time"]),
            "shape": list(gen.shape[2:]), "error_scale": "log10" if transform == "log"
            else "physical", "r2_float32": base_r2, "variants": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("store", type=Path)
    p.add_argument("--year", type=int, default=2005)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    text = json.dumps(measure(a.store, a.year), indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
