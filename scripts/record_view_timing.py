"""Time the record browser's three reads on a store, through its own code: a day's maps
(coarse, ensemble mean, truth, rendered to Bokeh), a point's whole-record series, and a
season's climatology (dask, out of core). Prints JSON (best of ``--repeat``, the first call
separately: cold file cache for the climatology).

Usage: python scripts/record_view_timing.py STORE [--day 2012-07-15] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd

from finescale.app.record_view import RecordBrowser
from finescale.data import record


def timed(fn, repeat: int) -> dict:
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    rest = []
    for _ in range(repeat - 1):
        t = time.perf_counter()
        fn()
        rest.append(time.perf_counter() - t)
    return {"first_s": round(first, 3), "best_s": round(min([first, *rest]), 3)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("store", type=Path)
    p.add_argument("--day", default=None, help="default: the middle of the made days")
    p.add_argument("--season", default="JJA")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    hv.extension("bokeh")
    rec = record.open_record(a.store)
    made = np.flatnonzero(np.isfinite(rec[record.settings_of(rec)["variable"]]
                                      .isel(member=0, lat=0, lon=0).values))
    days = pd.DatetimeIndex(rec["time"].values)
    day = pd.Timestamp(a.day) if a.day else days[made[made.size // 2]]
    b = RecordBrowser(a.store, day=day.date())
    out = {"store": str(a.store), "days": int(days.size), "made_days": int(made.size),
           "members": int(rec.sizes["member"]), "grid": list(rec["lat"].shape + rec["lon"].shape),
           "day": f"{day:%Y-%m-%d}",
           "day_maps": timed(lambda: b._maps().get_root(), a.repeat),  # Bokeh models
           "point_whole_record": timed(lambda: record.point_series(rec, *b.point), a.repeat),
           "season_climatology": timed(lambda: record.season_climatology(rec, a.season), 1)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
