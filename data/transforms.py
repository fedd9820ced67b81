"""Value transform of the paper: ``log10(max(x, floor))`` then min–max to [0, 1].

Fitted per area × season on the training days (coarse and fine together, so both domains
share one scale), saved with datasets and checkpoints as a plain dict, and exactly
invertible for every value at or above the floor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TypeVar

import numpy as np
import xarray as xr

from data.errors import FinescaleError

FLOOR = 1e-6
T = TypeVar("T", np.ndarray, xr.DataArray)


@dataclass(frozen=True)
class LogMinMax:
    """``y = (log10(max(x, floor)) - lo) / (hi - lo)``; ``lo``/``hi`` are in log10 units."""

    lo: float
    hi: float
    floor: float = FLOOR

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lo) and np.isfinite(self.hi)) or self.hi <= self.lo:
            raise FinescaleError(f"transform needs finite lo < hi, got lo={self.lo}, hi={self.hi}")

    @classmethod
    def fit(cls, *arrays: np.ndarray | xr.DataArray, floor: float = FLOOR) -> LogMinMax:
        """Fit ``lo``/``hi`` on the finite values of all ``arrays`` together."""
        lows, highs = [], []
        for a in arrays:
            v = np.log10(np.maximum(np.asarray(a, dtype=np.float64), floor))
            if not np.isfinite(v).any():
                raise FinescaleError("cannot fit the transform: no finite values")
            lows.append(np.nanmin(v))
            highs.append(np.nanmax(v))
        return cls(lo=float(min(lows)), hi=float(max(highs)), floor=floor)

    def forward(self, x: T) -> T:
        return (np.log10(np.maximum(x, self.floor)) - self.lo) / (self.hi - self.lo)

    def inverse(self, y: T) -> T:
        return 10.0 ** (y * (self.hi - self.lo) + self.lo)

    def to_dict(self) -> dict:
        return {"kind": "log10-minmax", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> LogMinMax:
        if d.get("kind") != "log10-minmax":
            raise FinescaleError(f"unknown transform kind {d.get('kind')!r}")
        return cls(lo=float(d["lo"]), hi=float(d["hi"]), floor=float(d["floor"]))
