"""Worker processes that cannot outlive the command that started them."""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Ask the kernel to send this process SIGTERM when its parent dies, however the parent
    ends (SIGKILL included): a worker is never left running on its own. Linux only; a no-op
    elsewhere. Use as a pool initializer or a ``preexec_fn``."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
