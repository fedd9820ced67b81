"""Device choice: CUDA when present, CPU otherwise; a clear error for impossible requests."""

from __future__ import annotations

import torch

from data.errors import FinescaleError


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
