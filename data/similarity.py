"""Source/target domain similarity: Wasserstein distances between coarse and fine values.

As in the paper: values are log10-transformed and min–max scaled jointly (coarse and fine of
one area × season together), then for every day present in both series the 1-D Wasserstein
distance between the two days' value distributions is taken; the table reports their mean
and median, and the distance between the pooled distributions of the whole season.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import wasserstein_distance

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir
from finescale.data.seasons import SEASONS, in_season
from finescale.data.transforms import analysis


def season_similarity(coarse: xr.DataArray, fine: xr.DataArray, season: str,
                      transform: str = "log") -> dict:
    """Daily and pooled Wasserstein distances for one season of one region, on the analysis
    scale of the transform ``kind`` (log10 for ``log``) min–max scaled jointly."""
    days = pd.DatetimeIndex(fine["time"].values)
    days = days[in_season(days, season) & days.isin(pd.DatetimeIndex(coarse["time"].values))]
    if days.size == 0:
        raise FinescaleError(f"season {season}: no day has both coarse and fine data")
    c = coarse.sel(time=days).values.reshape(days.size, -1)
    f = fine.sel(time=days).values.reshape(days.size, -1)
    c, f = analysis(transform, c.astype(np.float64)), analysis(transform, f.astype(np.float64))
    lo, hi = min(np.nanmin(c), np.nanmin(f)), max(np.nanmax(c), np.nanmax(f))
    c, f = (c - lo) / (hi - lo), (f - lo) / (hi - lo)
    daily = np.array([
        wasserstein_distance(ci[np.isfinite(ci)], fi[np.isfinite(fi)]) for ci, fi in zip(c, f,
                                                                                        strict=True)
    ])
    pooled = wasserstein_distance(c[np.isfinite(c)], f[np.isfinite(f)])
    return {"season": season, "days": int(days.size), "mean": float(daily.mean()),
            "median": float(np.median(daily)), "pooled": float(pooled)}


def similarity_table(ds: DatasetDir) -> pd.DataFrame:
    """The domain-similarity table: one row per region × season, plus an all-season row."""
    rows = []
    for name, reg in ds.regions.items():
        coarse, fine = reg.coarse.load(), reg.fine.load()
        for season in SEASONS:
            rows.append({"region": name,
                         **season_similarity(coarse, fine, season, reg.transform)})
        per = [r for r in rows if r["region"] == name]
        rows.append({"region": name, "season": "all", "days": sum(r["days"] for r in per),
                     "mean": float(np.average([r["mean"] for r in per],
                                              weights=[r["days"] for r in per])),
                     "median": float(np.median([r["median"] for r in per])),
                     "pooled": float(np.mean([r["pooled"] for r in per]))})
    return pd.DataFrame(rows)
