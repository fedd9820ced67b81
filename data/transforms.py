"""Value transforms between physical units and the networks' scale, one per dataset.

``log`` is the paper's (``log10(max(x, floor))`` then min–max to [0, 1]) for strictly
positive, heavy-tailed fields such as aerosol optical thickness; ``standard`` (z-score) for
signed or near-Gaussian fields (temperature, wind, anomalies); ``none`` leaves values as
they are. The kind is chosen at import (:func:`choose_transform`, or the user's
``--transform``), recorded in the dataset manifest; the fitted parameters (on the training
days, coarse and fine together so both domains share one scale) are saved with every
checkpoint as a plain dict (:func:`transform_from_dict`).

Each transform also names its *analysis scale* — where scores and diagnostics are
computed: log10 of the variable for ``log`` (as the paper scores dust AOT), the variable
itself otherwise (:func:`analysis`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar, TypeVar

import numpy as np
import xarray as xr

from finescale.data.errors import FinescaleError

FLOOR = 1e-6
TRANSFORMS = ("log", "standard", "none")
SKEW_FOR_LOG = 1.0  # a positive field this right-skewed is scored and modelled in log10
CLIP_MARGIN = 0.5  # generated values may leave the training range by half its width
T = TypeVar("T", np.ndarray, xr.DataArray)


def _finite(*arrays: np.ndarray | xr.DataArray) -> list[np.ndarray]:
    out = []
    for a in arrays:
        v = np.asarray(a, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            raise FinescaleError("cannot fit the transform: no finite values")
        out.append(v)
    return out


@dataclass(frozen=True)
class LogMinMax:
    """``y = (log10(max(x, floor)) - lo) / (hi - lo)``; ``lo``/``hi`` are in log10 units."""

    lo: float
    hi: float
    floor: float = FLOOR
    kind: ClassVar[str] = "log"
    tag: ClassVar[str] = "log10-minmax"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lo) and np.isfinite(self.hi)) or self.hi <= self.lo:
            raise FinescaleError(f"transform needs finite lo < hi, got lo={self.lo}, hi={self.hi}")

    @classmethod
    def fit(cls, *arrays: np.ndarray | xr.DataArray, floor: float = FLOOR) -> LogMinMax:
        """Fit ``lo``/``hi`` on the finite values of all ``arrays`` together."""
        logs = [np.log10(np.maximum(v, floor)) for v in _finite(*arrays)]
        return cls(lo=float(min(v.min() for v in logs)), hi=float(max(v.max() for v in logs)),
                   floor=floor)

    def forward(self, x: T) -> T:
        return (np.log10(np.maximum(x, self.floor)) - self.lo) / (self.hi - self.lo)

    def inverse(self, y: T) -> T:
        return 10.0 ** (y * (self.hi - self.lo) + self.lo)

    @property
    def bounds(self) -> tuple[float, float]:
        """The normalised range generated values are clipped to."""
        return -CLIP_MARGIN, 1 + CLIP_MARGIN

    def to_dict(self) -> dict:
        return {"kind": self.tag, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> LogMinMax:
        if d.get("kind") != cls.tag:
            raise FinescaleError(f"unknown transform kind {d.get('kind')!r}")
        return cls(lo=float(d["lo"]), hi=float(d["hi"]), floor=float(d["floor"]))


@dataclass(frozen=True)
class Standard:
    """``y = (x - mean) / std``; ``lo``/``hi``: the fitted range of ``x`` (for clipping)."""

    mean: float
    std: float
    lo: float
    hi: float
    kind: ClassVar[str] = "standard"
    tag: ClassVar[str] = "standard"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.std) and self.std > 0 and np.isfinite(self.mean)):
            raise FinescaleError(f"standardisation needs a finite std > 0, got mean="
                                 f"{self.mean}, std={self.std} (a constant field?)")

    @classmethod
    def fit(cls, *arrays: np.ndarray | xr.DataArray) -> Standard:
        v = np.concatenate(_finite(*arrays))
        return cls(mean=float(v.mean()), std=float(v.std()), lo=float(v.min()),
                   hi=float(v.max()))

    def forward(self, x: T) -> T:
        return (x - self.mean) / self.std

    def inverse(self, y: T) -> T:
        return y * self.std + self.mean

    @property
    def bounds(self) -> tuple[float, float]:
        lo, hi = self.forward(np.array([self.lo, self.hi]))
        return float(lo - CLIP_MARGIN * (hi - lo)), float(hi + CLIP_MARGIN * (hi - lo))

    def to_dict(self) -> dict:
        return {"kind": self.tag, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> Standard:
        return cls(**{k: float(d[k]) for k in ("mean", "std", "lo", "hi")})


@dataclass(frozen=True)
class Identity:
    """``y = x``; ``lo``/``hi``: the fitted range (for clipping)."""

    lo: float
    hi: float
    kind: ClassVar[str] = "none"
    tag: ClassVar[str] = "none"

    @classmethod
    def fit(cls, *arrays: np.ndarray | xr.DataArray) -> Identity:
        v = np.concatenate(_finite(*arrays))
        return cls(lo=float(v.min()), hi=float(v.max()))

    def forward(self, x: T) -> T:
        return x

    def inverse(self, y: T) -> T:
        return y

    @property
    def bounds(self) -> tuple[float, float]:
        w = max(self.hi - self.lo, 1e-12)
        return self.lo - CLIP_MARGIN * w, self.hi + CLIP_MARGIN * w

    def to_dict(self) -> dict:
        return {"kind": self.tag, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> Identity:
        return cls(lo=float(d["lo"]), hi=float(d["hi"]))


Transform = LogMinMax | Standard | Identity
_BY_NAME: dict[str, type] = {"log": LogMinMax, "standard": Standard, "none": Identity}
_BY_TAG: dict[str, type] = {c.tag: c for c in _BY_NAME.values()}


def check_transform(transform: str) -> str:
    if transform not in TRANSFORMS:
        raise FinescaleError(f"unknown transform {transform!r}; use one of {', '.join(TRANSFORMS)}")
    return transform


def fit_transform(transform: str, *arrays: np.ndarray | xr.DataArray) -> Transform:
    """Fit the transform of ``kind`` on the finite values of all ``arrays`` together."""
    return _BY_NAME[check_transform(transform)].fit(*arrays)


def transform_from_dict(d: dict) -> Transform:
    """The transform saved by ``to_dict`` (a checkpoint's ``transform`` record)."""
    cls = _BY_TAG.get(str(d.get("kind")))
    if cls is None:
        raise FinescaleError(f"unknown transform kind {d.get('kind')!r}")
    return cls.from_dict(d)


def transform_of(manifest: dict) -> str:
    """The transform kind of a dataset (datasets from before the choice existed: ``log``)."""
    return check_transform(str(manifest.get("transform", "log")))


def _skewness(v: np.ndarray) -> float:
    s = v.std()
    return float(((v - v.mean()) ** 3).mean() / s**3) if s > 0 else 0.0


def choose_transform(values: np.ndarray | xr.DataArray, variable: str) -> tuple[str, str]:
    """The transform for a field, and why: ``log`` for strictly positive, right-skewed
    values (skewness > 1), ``standard`` otherwise."""
    v = _finite(values)[0]
    if v.min() <= 0:
        return "standard", f"{variable} has values <= 0 (min {v.min():.4g}): standardised"
    skew = _skewness(v)
    if skew > SKEW_FOR_LOG:
        return "log", f"{variable} is positive and right-skewed (skewness {skew:.2f}): log10"
    return "standard", f"{variable} is positive but not skewed (skewness {skew:.2f}): standardised"


def check_values(transform: str, values: np.ndarray | xr.DataArray, variable: str,
                 label: str) -> None:
    """A ``log`` transform needs strictly positive values: one error naming the minimum."""
    if check_transform(transform) != "log":
        return
    v = _finite(values)[0]
    if v.min() <= 0:
        raise FinescaleError(f"{label}: {variable} has values <= 0 (min {v.min():.4g}); the log "
                             "transform needs strictly positive values: use --transform "
                             "standard")


def analysis(transform: str, x: T) -> T:
    """Values on the scale where scores are computed: log10 (floored) for ``log`` data."""
    if transform == "log":
        return np.log10(np.maximum(x, FLOOR))
    return x


def from_analysis(transform: str, y: T) -> T:
    """The inverse of :func:`analysis` (above the floor): 10**y for ``log`` data."""
    if transform == "log":
        return 10.0 ** y
    return y


def analysis_label(transform: str, variable: str, units: str = "") -> str:
    """Axis label of the analysis scale, e.g. ``log10 DUEXTTAU`` or ``t2m [K]``."""
    if transform == "log":
        return f"log10 {variable}"
    return f"{variable} [{units}]" if units and units != "1" else variable
