"""The C allocator (glibc's malloc), tuned per application: a batch command keeps freed
memory for reuse, the dashboard server gives it back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4  # glibc's malloc.h
LARGE = 128 * 1024  # glibc's initial mmap threshold
MAPPINGS = 65536  # glibc's default most blocks with their own mapping
THRESHOLD_MAX = 32 * 2**20  # glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2)
KEEP = 2**30  # free heap kept before trimming, for a batch command


def _mallopt(mmap_threshold: int, trim_threshold: int, mmap_max: int | None = None) -> bool:
    """Both thresholds set (and the most blocks with their own mapping, where given); False
    where this is not glibc, or the user set their own (``MALLOC_MMAP_THRESHOLD_``: theirs
    wins)."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(M_TRIM_THRESHOLD, trim_threshold))
    return ok and (mmap_max is None or bool(mallopt(M_MMAP_MAX, mmap_max)))


def keep_freed_memory() -> bool:
    """A batch command (reconstruct, evaluate, generate, train, bench): every block from the
    heap, none with its own mapping, and up to 1 GB of freed heap kept for reuse. True where
    it took effect.

    A record day allocates and frees tensors of tens of MB many times (windows, features,
    the history's shift); glibc served them with fresh mappings and unmapped them on free,
    so every day paid the kernel's page faults again. A threshold only reaches 32 MB, and a
    record day's largest blocks (two members' conditioning, area1's maps) are bigger, so
    mappings are switched off as well (``M_MMAP_MAX`` 0). Measured on the record's default
    (``scripts/malloc_check.py``, docs/reconstruct.md): bit-identical fields, peak RSS within
    a few %, and the speed-ups given there. ``FINESCALE_MALLOC=default`` keeps glibc's own
    behaviour.
    """
    if os.environ.get("FINESCALE_MALLOC") == "default":
        return False
    return _mallopt(THRESHOLD_MAX, KEEP, mmap_max=0)


def return_freed_memory() -> bool:
    """The dashboard server: blocks above 128 KB with their own mappings, unmapped when
    freed, and the heaps trimmed above 128 KB of free space. True where it took effect.

    glibc raises its mmap threshold after each large free (up to 32 MB), so the arrays and
    tensors of every generation (a few MB each) came from heaps that keep what is freed:
    under the 8-page load test the dashboard's RSS grew to 2.4 GB, against 1.4 GB with the
    threshold fixed, at the same throughput (docs/benchmarks.md).
    """
    return _mallopt(LARGE, LARGE, mmap_max=MAPPINGS)  # mappings on again after the CLI's
