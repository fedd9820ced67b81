"""The dashboard server gives freed memory back to the system; a batch command keeps it."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHURN = """
import ctypes, sys
import numpy as np, psutil
from finescale.app.heap import keep_freed_memory, return_freed_memory
if sys.argv[1] == "after-cli":  # `finescale serve`: the CLI's batch setting first
    keep_freed_memory()
on = sys.argv[1] != "off" and return_freed_memory()
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


@pytest.mark.parametrize("mode", ["on", "after-cli"])
def test_freed_arrays_leave_the_process(mode):
    on, with_it = _grown(mode)
    if not on:
        pytest.skip("not glibc's malloc: nothing to set")  # e.g. macOS
    _, without = _grown("off")
    assert without > 300  # the heap kept ~400 MB it no longer uses
    assert with_it < 50


DAYS = """
import resource, sys
import numpy as np
from finescale.app.heap import keep_freed_memory
on = sys.argv[1] == "keep" and keep_freed_memory()
mb = int(sys.argv[2])
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # a record day's tensors: several of `mb` MB made, used, freed together
    batch = [np.ones(mb * 2**20 // 8) for _ in range(8)]
    del batch
print(on, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


@pytest.mark.parametrize("mb", [16, 48])
def test_a_batch_command_keeps_freed_memory_for_the_next_day(mb):
    """glibc trims its heap once 2× its mmap threshold is free, and gives a block above
    32 MB its own mapping whatever the threshold, so every day's tensors were faulted in
    again; kept, the pages are reused (20× fewer faults here)."""
    def faults(mode: str) -> tuple[bool, int]:
        out = subprocess.run([sys.executable, "-c", DAYS, mode, str(mb)], capture_output=True,
                             text=True, timeout=120, check=True).stdout.split()
        return out[0] == "True", int(out[1])

    on, kept = faults("keep")
    if not on:
        pytest.skip("not glibc's malloc: nothing to set")
    _, default = faults("default")
    assert kept * 5 < default


def test_the_cli_sets_the_batch_allocator_before_its_command(monkeypatch, tmp_path, capsys):
    """Every command starts with freed memory kept (`serve` then sets the server's own)."""
    import finescale.app.cli as cli

    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append("keep"))
    assert cli.main(["data", "info", str(tmp_path / "none.nc")]) == 2  # bad input, one line
    assert calls == ["keep"] and "none.nc" in capsys.readouterr().err
