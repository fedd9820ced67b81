"""Opening a dataset directory."""

from __future__ import annotations

import shutil

import numpy as np

from finescale.data.layout import CHUNK_CACHE, open_dataset


def test_a_dataset_read_day_by_day_keeps_its_fine_chunks_cached(small_dir, tmp_path):
    # a copy: HDF5 gives a file opened again in the process the first opening's chunk cache,
    # and earlier tests may still hold the fixture's files open without one
    copy = shutil.copytree(small_dir, tmp_path / "small")
    on, whole = open_dataset(copy, on_disk=True), open_dataset(copy)
    for name in on.regions:
        handle = on.region(name).handles[0]  # what keeps HDF5's chunk cache alive
        assert handle.name == f"/{on.variable}"
        assert handle.file.filename.endswith(f"{name}/fine.nc")
        _, nbytes, w0 = handle.id.get_access_plist().get_chunk_cache()
        assert (nbytes, w0) == (CHUNK_CACHE["rdcc_nbytes"], CHUNK_CACHE["rdcc_w0"])
        for day in (3, 4, 40):  # the same values as a dataset opened for training
            np.testing.assert_array_equal(on.region(name).fine.isel(time=day).values,
                                          whole.region(name).fine.isel(time=day).values)
        assert whole.region(name).handles == []  # loaded whole: no cache to keep
