"""The dashboard server gives freed memory back to the system."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHURN = """
import ctypes, sys
import numpy as np, psutil
from finescale.app.heap import return_freed_memory
on = sys.argv[1] == "on" and return_freed_memory()
big = np.ones(16 * 2**20 // 8); del big  # glibc now serves blocks up to 16 MB from its heap
rss0 = psutil.Process().memory_info().rss
keep = [np.ones(2**20 // 8 * 4) for _ in range(100)]  # 4 MB each, as a generation's arrays
last = keep[-1]
del keep  # all but the last freed
print(on, (psutil.Process().memory_info().rss - rss0) / 2**20)
"""


def _grown(mode: str) -> tuple[bool, float]:
    out = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    return out[0] == "True", float(out[1])


def test_freed_arrays_leave_the_process():
    on, with_it = _grown("on")
    if not on:
        pytest.skip("not glibc's malloc: nothing to set")  # e.g. macOS
    _, without = _grown("off")
    assert without > 300  # the heap kept ~400 MB it no longer uses
    assert with_it < 50
