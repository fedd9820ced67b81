"""Tensors for training and generation, built from a region of a finescale dataset.

The contract: everything a network sees is normalised with the region × season's
transform of the dataset's kind (:mod:`finescale.data.transforms`, fitted on the training
days, coarse and fine together);
:class:`SeasonData` holds those arrays plus the static planes, and produces the conditioning
stack of a day. Shapes: history ``(H, y, x)``, conditioning ``(C, y, x)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from finescale.data.errors import FinescaleError
from finescale.data.layout import DiskArray, RegionData, generator_identity
from finescale.data.regions import NORM_LAT, NORM_LON
from finescale.data.regrid import coarse_cells, weights_1d
from finescale.data.seasons import in_season
from finescale.data.splits import Split, SplitConfig, make_split
from finescale.data.transforms import Transform, fit_transform

ELEV_SCALE = 5000.0  # m
YEAR0, YEARS = 2000.0, 25.0
N_COND = 7  # coarse (nearest), elevation, lat, lon, year, sin(doy), cos(doy)


def fingerprint(manifest: dict, region: str, *, legacy: bool = False) -> str:
    """Identity of the data a model was trained on: variable, generator, region grids.

    A generated region's data do not depend on which other regions were generated with it
    (``prepare --regions area0`` writes the same area0 files byte for byte), so the list of
    regions is left out; ``legacy=True`` gives the earlier identity, which included it.
    """
    reg = manifest.get("regions", {}).get(region, {})
    gen = generator_identity(manifest.get("generator"))
    if gen is not None and not legacy:
        gen = {**gen, "config": {k: v for k, v in (gen.get("config") or {}).items()
                                 if k != "regions"}}
    key = {"variable": manifest.get("variable"), "generator": gen,
           "source": manifest.get("source"),
           "grids": {k: reg.get(k) for k in ("coarse_grid", "fine_grid")}}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprints(manifest: dict, region: str) -> tuple[str, str]:
    """The identities a checkpoint of ``region`` may carry for these data: today's and the
    earlier one (checkpoints trained before the region list was left out still load)."""
    return fingerprint(manifest, region), fingerprint(manifest, region, legacy=True)


def fitted_years(days: pd.DatetimeIndex) -> tuple[float, float] | None:
    """The span of calendar time ``year + day_of_year / 365.25`` a model was fitted on."""
    if len(days) == 0:
        return None
    return (float(days.min().year + days.min().day_of_year / 365.25),
            float(days.max().year + days.max().day_of_year / 365.25))


def model_year(day: pd.Timestamp, span: tuple[float, float] | None) -> float:
    """The calendar time the networks see for ``day``: its own inside ``span`` (the days the
    model was fitted on); outside, the same day of the year in the nearest fitted year.

    A covariate learnt from two years says nothing about 2001 or 2022, and extrapolating it
    bends the fields (docs/reconstruct.md: texture fell 8 % from 2001 to 2024 in area0); the
    season's place in the year is kept, the year is one the model has seen.
    """
    t = day.year + day.day_of_year / 365.25
    if span is None or span[0] <= t <= span[1]:
        return t
    frac = t - day.year
    years = [y for y in range(int(np.floor(span[0])), int(np.floor(span[1])) + 1)
             if span[0] <= y + frac <= span[1]]
    if not years:  # the fitted days never reach this day of the year
        return float(np.clip(t, *span))
    return min(years, key=lambda y: abs(y - day.year)) + frac


def time_planes(day: pd.Timestamp, span: tuple[float, float] | None = None) -> np.ndarray:
    doy = day.day_of_year
    return np.array([(model_year(day, span) - YEAR0) / YEARS,
                     np.sin(2 * np.pi * doy / 365.25), np.cos(2 * np.pi * doy / 365.25)],
                    dtype=np.float32)


class Normalised:
    """A read-only view that applies the transform on access (no normalised copy in memory)."""

    def __init__(self, raw: np.ndarray, transform: Transform):
        self.raw, self.transform = raw, transform

    @property
    def shape(self) -> tuple[int, ...]:
        return self.raw.shape

    def __len__(self) -> int:
        return self.raw.shape[0]

    def __getitem__(self, idx) -> np.ndarray:
        if self._cached is not None:
            return self._cached[idx]
        return self.transform.forward(self.raw[idx]).astype(np.float32)

    _cached: np.ndarray | None = None

    def cache(self) -> None:
        """Hold the normalised copy (same values, elementwise), trading memory for speed.

        Worth it where the batch builder, not the network, is the bottleneck (a GPU).
        """
        if self._cached is None:
            self._cached = self.transform.forward(np.asarray(self.raw)).astype(np.float32)


@dataclass
class SeasonData:
    """Normalised arrays of one region for one season's models."""

    region: str
    season: str
    transform: Transform
    split: Split
    fine_days: pd.DatetimeIndex
    fine: Normalised  # (Tf, H, W)
    coarse_days: pd.DatetimeIndex
    coarse: Normalised  # (Tc, h, w)
    static: np.ndarray  # (3, H, W): elevation, lat, lon
    w_near: tuple[np.ndarray, np.ndarray]  # coarse → fine, nearest (paper's conditioning)
    w_lin: tuple[np.ndarray, np.ndarray]  # coarse → fine, bilinear (residual base)
    lat: np.ndarray
    lon: np.ndarray
    # fine → coarse cell means (data.regrid.coarse_cells): the coarse-consistent constraint
    cells: tuple[np.ndarray, np.ndarray] | None = None
    # calendar time of the days fitted on (train + validation): years outside it are pinned
    year_span: tuple[float, float] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.fine.shape[1], self.fine.shape[2]

    @cached_property
    def _coarse_pos(self) -> dict[pd.Timestamp, int]:
        # a dict lookup is ~100x cheaper than Index.get_indexer on one day, and training asks
        # for a few hundred days per batch
        return {d: i for i, d in enumerate(self.coarse_days)}

    @cached_property
    def _fine_pos(self) -> dict[pd.Timestamp, int]:
        return {d: i for i, d in enumerate(self.fine_days)}

    @cached_property
    def _fine_ordinal(self) -> np.ndarray:
        return self.fine_days.values.astype("datetime64[D]").astype(np.int64)

    def coarse_index(self, day: pd.Timestamp) -> int:
        i = self._coarse_pos.get(pd.Timestamp(day), -1)
        if i < 0:
            raise FinescaleError(f"no coarse field on {day:%Y-%m-%d} in region {self.region} "
                                 f"(coarse record {self.coarse_days[0]:%Y-%m-%d} .. "
                                 f"{self.coarse_days[-1]:%Y-%m-%d})")
        return int(i)

    def coarse_on_fine(self, day: pd.Timestamp, method: str = "nearest",
                       window: tuple[slice, slice] | None = None) -> np.ndarray:
        wl, wo = self.w_near if method == "nearest" else self.w_lin
        if window is not None:
            wl, wo = wl[window[0]], wo[window[1]]
        return (wl @ self.coarse[self.coarse_index(day)] @ wo.T).astype(np.float32)

    def cond(self, day: pd.Timestamp, window: tuple[slice, slice] | None = None) -> np.ndarray:
        """(N_COND, y, x): coarse (nearest), elevation, lat, lon and time planes."""
        st = self.static if window is None else self.static[:, window[0], window[1]]
        c = self.coarse_on_fine(day, "nearest", window)
        t = np.broadcast_to(time_planes(day, self.year_span)[:, None, None], (3, *c.shape))
        return np.concatenate([c[None], st, t]).astype(np.float32)

    def base(self, day: pd.Timestamp, window: tuple[slice, slice] | None = None) -> np.ndarray:
        """The residual base: the coarse field bilinearly interpolated to the fine grid."""
        return self.coarse_on_fine(day, "bilinear", window)

    def fine_history(self, day: pd.Timestamp, history: int,
                     window: tuple[slice, slice] | None = None) -> np.ndarray:
        """(history, y, x) fine fields before ``day``; must all be in the fine record."""
        last = self._fine_pos.get(pd.Timestamp(day) - pd.Timedelta(days=1))
        first = None if last is None else last - history + 1
        if first is not None and first >= 0 and (
                self._fine_ordinal[last] - self._fine_ordinal[first] == history - 1):
            idx = slice(first, last + 1)  # contiguous daily run (the common case): one slice
            return self.fine[idx] if window is None else self.fine[idx, window[0], window[1]]
        idx = self.fine_days.get_indexer(pd.date_range(end=day - pd.Timedelta(days=1),
                                                       periods=history, freq="D"))
        if (idx < 0).any():
            raise FinescaleError(f"{day:%Y-%m-%d} lacks {history} days of fine history")
        return self.fine[idx] if window is None else self.fine[idx, window[0], window[1]]

    def coarse_history_init(self, day: pd.Timestamp, history: int) -> np.ndarray:
        """Initial history where no fine field exists: bilinearly regridded coarse fields."""
        days = pd.date_range(end=day - pd.Timedelta(days=1), periods=history, freq="D")
        return np.stack([self.base(d) for d in days])


def season_data(region: RegionData, season: str, split_cfg: SplitConfig | None = None,
                transform: Transform | None = None, in_memory: bool | None = None,
                year_span: Sequence[float] | None = None) -> SeasonData:
    """Load a region, split its fine days for ``season`` and normalise everything.

    ``transform`` and ``year_span`` (from a checkpoint) replace the ones of the split's
    training and validation days.
    ``in_memory`` (default: not ``region.on_disk``) loads the fine record whole; else its
    days are read from the file when asked for.
    """
    split_cfg = split_cfg or SplitConfig()
    fine_days = pd.DatetimeIndex(region.fine["time"].values)
    coarse_days = pd.DatetimeIndex(region.coarse["time"].values)
    try:
        split = make_split(fine_days, season, split_cfg)
    except FinescaleError:
        if transform is None:  # training: the split is what it learns from
            raise
        # generation with a checkpoint's transform needs no split (e.g. no fine record)
        none = pd.DatetimeIndex([])
        split = Split(season=season, train=none, val=none, test=none, config=split_cfg)
    if in_memory is None:
        in_memory = not region.on_disk
    coarse_raw = region.coarse.load().values  # load() caches the array in the open dataset
    checks = [("coarse", coarse_raw)]
    if in_memory:
        fine_raw = region.fine.load().values
        checks.append(("fine", fine_raw))
    else:
        fine_raw = DiskArray(region.fine, f"region {region.name}: the fine series")
    for name, arr in checks:
        if not _all_finite(arr):
            raise FinescaleError(f"region {region.name}: the {name} series has NaN or infinite "
                                 "values; finescale needs complete fields")
    tr_f = fine_days.get_indexer(split.train)
    tr_c = coarse_days.get_indexer(split.train)
    tf = transform or fit_transform(region.transform, fine_raw[tr_f], coarse_raw[tr_c[tr_c >= 0]])
    lat, lon = region.fine["lat"].values, region.fine["lon"].values
    clat, clon = region.coarse["lat"].values, region.coarse["lon"].values
    la, lo = np.meshgrid((lat - NORM_LAT[0]) / (NORM_LAT[1] - NORM_LAT[0]),
                         (lon - NORM_LON[0]) / (NORM_LON[1] - NORM_LON[0]), indexing="ij")
    elev = region.static["elevation"].values / ELEV_SCALE
    return SeasonData(
        region=region.name, season=season, transform=tf, split=split,
        fine_days=fine_days, fine=Normalised(fine_raw, tf),
        coarse_days=coarse_days, coarse=Normalised(coarse_raw, tf),
        static=np.stack([elev, la, lo]).astype(np.float32),
        w_near=(weights_1d(clat, lat, "nearest"), weights_1d(clon, lon, "nearest")),
        w_lin=(weights_1d(clat, lat, "bilinear"), weights_1d(clon, lon, "bilinear")),
        cells=(coarse_cells(lat, clat), coarse_cells(lon, clon)),
        lat=lat, lon=lon,
        year_span=(tuple(float(v) for v in year_span) if year_span is not None
                   else fitted_years(split.train.union(split.val))),
    )


_FINITE: dict[int, bool] = {}


def _all_finite(arr: np.ndarray) -> bool:
    """NaN check, remembered per array object (the arrays are cached and never mutated)."""
    key = id(arr)
    if key not in _FINITE:
        _FINITE[key] = bool(np.isfinite(arr).all())
    return _FINITE[key]


def encoder_days(sd: SeasonData, history: int, buffer_days: int) -> pd.DatetimeIndex:
    """Coarse target days for stage 1: the season plus its pre-season buffer, all years,
    with a full coarse history."""
    days = sd.coarse_days[history:]
    mask = in_season(days, sd.season)
    shifted = days + pd.Timedelta(days=buffer_days)
    mask |= in_season(shifted, sd.season) & ~in_season(days, sd.season)
    return days[mask]


def random_window(shape: tuple[int, int], patch: int, rng: np.random.Generator
                  ) -> tuple[slice, slice]:
    h, w = shape
    p = min(patch, h, w)
    i, j = rng.integers(0, h - p + 1), rng.integers(0, w - p + 1)
    return slice(i, i + p), slice(j, j + p)
