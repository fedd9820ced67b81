"""``finescale evaluate --rebuild REPORT --out DIR``: every interval and verdict of a report
rebuilt from its shipped files alone — ``metrics.json`` (the point scores) and ``daily.nc``
(each model's per-day sufficient statistics, :func:`finescale.data.bootstrap.daily_stats`),
with the bootstrap settings of ``meta.json``. Nothing is generated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from finescale.data.errors import FinescaleError

DAILY = "daily.nc"
DERIVED = ("_ci_low", "_ci_high", "_claim")


def daily_dataset(results) -> xr.Dataset:
    """Every result's per-day statistics in one Dataset along ``entry`` (model, region,
    season, split as coordinates; days of other pairs are NaN)."""
    parts = [r.daily.expand_dims(entry=[i]).assign_coords(
        model=("entry", [r.model]), region=("entry", [r.region]), season=("entry", [r.season]),
        split=("entry", [r.split]))
        for i, r in enumerate(results)]
    return xr.concat(parts, dim="entry", join="outer")


def _point_scores(rec: dict) -> dict:
    return {k: v for k, v in rec.items()
            if not (k.endswith(DERIVED) or "_vs_" in k)}


def rebuild(report: Path) -> list[dict]:
    """The report's records with every ``*_ci_low/_ci_high``, paired difference and verdict
    computed again from ``daily.nc``."""
    from finescale.app.report import records
    from finescale.model.evaluation import EvalConfig, PairResult, add_intervals, adjust

    report = Path(report)
    need = [report / n for n in ("metrics.json", "meta.json", DAILY)]
    missing = [p.name for p in need if not p.exists()]
    if missing:
        raise FinescaleError(f"{report} lacks {', '.join(missing)}: a report from before the "
                             "per-day statistics were shipped cannot be rebuilt; evaluate "
                             "again")
    recs = json.loads(need[0].read_text())
    settings = json.loads(need[1].read_text())["settings"]
    with xr.open_dataset(need[2], engine="h5netcdf") as f:
        daily = f.load()
    # a daily.nc from before models held out in time were scored beside: all random days
    splits = daily["split"].values if "split" in daily.coords else ["test"] * daily.sizes["entry"]
    key = {(str(m), str(r), str(s), str(p)): i for i, (m, r, s, p) in enumerate(
        zip(daily["model"].values, daily["region"].values, daily["season"].values, splits,
            strict=True))}
    results = []
    for rec in recs:
        split = rec.get("split") or "test"
        i = key.get((rec["model"], rec["region"], rec["season"], split))
        if i is None:
            raise FinescaleError(f"{need[2]} has no days of {rec['model']} {rec['region']} "
                                 f"{rec['season']} ({split})")
        d = daily.isel(entry=i).drop_vars(["entry", "model", "region", "season", "split"],
                                          errors="ignore")
        d = d.isel(time=np.flatnonzero(np.isfinite(d["n"].values)))
        results.append(PairResult(model=rec["model"], region=rec["region"],
                                  season=rec["season"], record=_point_scores(rec),
                                  spatial={}, temporal=None, rank=None, per_day=None,
                                  example=None, daily=d, split=split))
    # a report from before moving blocks resampled single days
    cfg = EvalConfig(boot=int(settings.get("boot", 2000)), seed=int(settings.get("seed", 0)),
                     block=int(settings.get("block", 1)))
    add_intervals(results, cfg)
    adjust(results)
    return records(results)


def write_rebuilt(report: Path, out: Path) -> Path:
    recs = rebuild(report)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".metrics.json.tmp"
    tmp.write_text(json.dumps(recs, indent=1))
    tmp.replace(out / "metrics.json")
    return out / "metrics.json"
