"""Device choice: CUDA when present, CPU otherwise; a clear error for impossible requests."""

from __future__ import annotations

import os
import shutil

import torch

from finescale.data.errors import FinescaleError


def resolve_device(name: str | None = "auto") -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise FinescaleError(f"device {name!r} requested but CUDA is not available on this "
                                 "machine; use --device cpu or auto")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise FinescaleError(f"unknown device {name!r}; use auto, cpu or cuda[:N]")


def fast_precision(device: torch.device) -> str:
    """Network arithmetic where speed matters (the dashboard, the long record): bf16 where
    the device computes it natively — CUDA with bf16 support, CPUs with AVX512-BF16 / AMX
    (2.0x faster for an 8-member day, mean |Δ log10| 0.003, see ``finescale bench``; the
    shipped evidence was scored in bf16) — fp32 elsewhere, where emulated bf16 is slower
    (44x on an AVX2-only CPU)."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type != "cpu":
        return "fp32"
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return "bf16" if native else "fp32"


def compile_pays(device: torch.device, precision: str) -> bool:
    """Whether ``torch.compile`` (inductor) pays for a long run: on a CPU in fp32 — the
    arithmetic of CPUs without native bf16 — it ran the record's default 1.9x faster
    (identical to 2e-6 log10, scripts/compile_check.py); in bf16 it was no faster (0.93x);
    on CUDA it is unmeasured. Inductor builds C++ on the CPU: a compiler must be on PATH."""
    if device.type != "cpu" or precision != "fp32":
        return False
    return any(shutil.which(c) for c in (os.environ.get("CXX", ""), "g++", "c++", "clang++")
               if c)
