"""Long periods stream to disk: the file equals the in-memory result and memory is bounded."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import xarray as xr

from finescale.model.config import SamplerConfig
from finescale.model.generation import generate, generate_to_file, load_model

S = SamplerConfig(steps=1)


def test_streamed_file_equals_in_memory_generation(small, ckpts, tmp_path: Path):
    # starts before the fine record: spin-up from coarse, then truth appears mid-period
    kw = {"members": 2, "sampler": S, "progress": False}
    mem = generate(small, [ckpts["diffusion"]], "2006-06-25", "2006-07-02", **kw)
    path = generate_to_file(small, [ckpts["diffusion"]], "2006-06-25", "2006-07-02",
                            tmp_path / "g.nc", **kw)
    f = xr.open_dataset(path, engine="h5netcdf")
    for v in ("DUEXTTAU", "DUEXTTAU_truth", "DUEXTTAU_coarse"):
        assert f[v].dims == mem[v].dims
        np.testing.assert_allclose(f[v].values, mem[v].values, rtol=2e-3, equal_nan=True)
    assert f.attrs["model_kind"] == "diffusion" and f.DUEXTTAU.attrs["units"]
    assert not list(tmp_path.glob(".*tmp"))


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_stays_bounded_while_the_period_grows(small, ckpts, tmp_path: Path):
    lm = load_model(ckpts["diffusion"], small)
    members = 8  # 8 × 64 × 64 float32 = 128 KiB per day

    def stream(end: str):
        return lambda: generate_to_file(small, [lm], "2006-06-01", end, tmp_path / "s.nc",
                                        members=members, sampler=S, progress=False)

    def in_memory(end: str):
        return lambda: generate(small, [lm], "2006-06-01", end, members=members, sampler=S,
                                progress=False)

    stream("2006-06-10")()  # warm caches (season data, imports) before measuring
    short, long = _peak(stream("2006-06-10")), _peak(stream("2006-07-20"))
    grow = 40 * members * 64 * 64 * 4  # what 40 more days would hold in memory
    assert long - short < grow / 4, (short, long)
    # the measurement can see growth: the in-memory path grows by about that much
    a, b = _peak(in_memory("2006-06-10")), _peak(in_memory("2006-07-20"))
    assert b - a > grow / 2, (a, b)
