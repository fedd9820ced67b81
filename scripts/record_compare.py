"""Two records' evidence side by side: per season, each statistic's linear trend over the
generated years (as % per decade of its mean) and the years flagged, for `finescale evaluate
--record` outputs of the same region made two ways (e.g. the year covariate extrapolated vs
pinned, docs/reconstruct.md). Prints JSON.

    python scripts/record_compare.py OLD/record.json NEW/record.json [--stats lag1,spread]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

STATS = ("semivariance_short", "spread", "lag1", "coarse_r2", "mean", "p99")


def season_rows(rows: list[dict]) -> dict[str, list[dict]]:
    """The generated season rows of a record.json, by season, in year order."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        if r["level"] == "season" and r["source"] == "generated":
            out.setdefault(r["season"], []).append(r)
    return {s: sorted(v, key=lambda r: r["year"]) for s, v in out.items()}


def trend(rows: list[dict], stat: str) -> dict:
    """OLS slope of ``stat`` against year, as % of its mean per decade (None for a mean
    near zero: log-space means are negative numbers, their % would mislead)."""
    years = np.array([r["year"] for r in rows], float)
    vals = np.array([r[stat] for r in rows], float)
    ok = np.isfinite(vals)
    slope = float(np.polyfit(years[ok], vals[ok], 1)[0]) if ok.sum() > 2 else float("nan")
    mean = float(np.nanmean(vals))
    rel = 1000.0 * slope / abs(mean) if stat not in ("mean", "p99") and mean else None
    return {"first": float(vals[ok][0]), "last": float(vals[ok][-1]),
            "min": float(np.nanmin(vals)), "max": float(np.nanmax(vals)),
            "slope_per_decade": 10.0 * slope, "pct_per_decade": rel}


def summary(path: Path, stats: tuple[str, ...]) -> dict:
    rows = json.loads(path.read_text())
    by_season = season_rows(rows)
    flagged = sorted({(r["year"], r["season"], r["reason"]) for r in rows if r.get("flag")})
    return {"record": str(path),
            "years": sorted({r["year"] for r in rows if r["source"] == "generated"}),
            "flagged": [{"year": y, "season": s, "reason": why} for y, s, why in flagged],
            "trends": {s: {k: trend(v, k) for k in stats} for s, v in by_season.items()}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="+", type=Path, help="record.json files")
    ap.add_argument("--stats", default=",".join(STATS))
    a = ap.parse_args(argv)
    stats = tuple(a.stats.split(","))
    print(json.dumps([summary(p, stats) for p in a.records], indent=1))


if __name__ == "__main__":
    main()
