"""The C allocator (glibc's malloc), tuned per application: a batch command keeps freed
memory for reuse, the dashboard server gives it back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
LARGE = 128 * 1024  # glibc's initial mmap threshold
MMAP_MAX = 32 * 2**20  # glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2)
KEEP = 2**30  # free heap kept before trimming, for a batch command


def _mallopt(mmap_threshold: int, trim_threshold: int) -> bool:
    """Both thresholds set; False where this is not glibc, or the user set their own
    (``MALLOC_MMAP_THRESHOLD_``: theirs wins)."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(M_TRIM_THRESHOLD, trim_threshold))


def keep_freed_memory() -> bool:
    """A batch command (reconstruct, evaluate, generate, train, bench): blocks up to 32 MB
    from the heap, and up to 1 GB of freed heap kept for reuse. True where it took effect.

    A record day allocates and frees tensors of tens of MB many times (windows, features,
    the history's shift); glibc served them with fresh mappings and unmapped them on free,
    so every day paid the kernel's page faults again. Kept, the record's default is 1.17×
    (area0) and 1.36× (area1) faster with bit-identical fields and the same peak RSS
    (``scripts/malloc_check.py``, docs/reconstruct.md). ``FINESCALE_MALLOC=default`` keeps
    glibc's own behaviour.
    """
    if os.environ.get("FINESCALE_MALLOC") == "default":
        return False
    return _mallopt(MMAP_MAX, KEEP)


def return_freed_memory() -> bool:
    """The dashboard server: blocks above 128 KB with their own mappings, unmapped when
    freed, and the heaps trimmed above 128 KB of free space. True where it took effect.

    glibc raises its mmap threshold after each large free (up to 32 MB), so the arrays and
    tensors of every generation (a few MB each) came from heaps that keep what is freed:
    under the 8-page load test the dashboard's RSS grew to 2.4 GB, against 1.4 GB with the
    threshold fixed, at the same throughput (docs/benchmarks.md).
    """
    return _mallopt(LARGE, LARGE)
