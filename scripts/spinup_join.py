"""Measure the spin-up a reconstruction segment needs: join statistics vs spin-up length.

For each spin-up, a period is reconstructed in short segments (many joins) and the
day-to-day statistics across joins are compared with those inside segments
(:func:`finescale.data.joins.join_statistics`). Prints JSON.

    python scripts/spinup_join.py --data DIR --region area0 --start 2010-06-01 --days 60 \
        --segment-days 10 --members 2 --spinups 0,3,7,14 --work /tmp/spinup
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from finescale.data.joins import join_statistics
from finescale.data.layout import open_dataset
from finescale.data.record import RecordLayout, open_record
from finescale.data.seasons import season_of
from finescale.data.transforms import analysis
from finescale.model.config import SamplerConfig
from finescale.model.reconstruct import RecordConfig, reconstruct
from finescale.model.registry import SHIPPED_DIR, seasonal_checkpoints


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--region", default="area0")
    p.add_argument("--start", default="2010-06-01")
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--segment-days", type=int, default=10)
    p.add_argument("--members", type=int, default=2)
    p.add_argument("--spinups", default="0,3,7,14")
    p.add_argument("--checkpoints", nargs="+", default=[str(SHIPPED_DIR)])
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    p.add_argument("--no-windows", action="store_true")
    p.add_argument("--chain", action="store_true", help="also measure --chain (spin-up 7)")
    p.add_argument("--work", type=Path, default=Path("/tmp/finescale-spinup"))
    a = p.parse_args()
    ds = open_dataset(a.data)
    end = (pd.Timestamp(a.start) + pd.Timedelta(days=a.days - 1)).strftime("%Y-%m-%d")
    lay = RecordLayout(a.start, end, a.members, segment_days=a.segment_days)
    ckpts = seasonal_checkpoints(a.checkpoints, a.region, "diffusion",
                                 sorted(set(season_of(lay.days))))
    rows = []
    runs = [(int(s), False) for s in a.spinups.split(",") if s] + ([(7, True)] if a.chain else [])
    for k, chain in runs:
        out = a.work / f"spinup{k}{'-chain' if chain else ''}.zarr"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        sampler = SamplerConfig(precision=a.precision, windows=not a.no_windows)
        reconstruct(ds, ckpts, RecordConfig(layout=lay, spinup=k, sampler=sampler, chain=chain),
                    out, progress=False)
        sec = time.perf_counter() - t0
        rec = open_record(out)
        z = analysis(ds.transform, rec[ds.variable].values.astype(np.float64))
        st = join_statistics(z, rec["lat"].values, rec["lon"].values, a.segment_days)
        rows.append({"spinup": k, "chain": chain, "seconds": round(sec, 1),
                     "member_days_per_s": round(a.members * a.days / sec, 3), **st})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"region": a.region, "start": a.start, "days": a.days,
                      "precision": a.precision, "windows": not a.no_windows,
                      "segment_days": a.segment_days, "members": a.members, "rows": rows},
                     indent=1))


if __name__ == "__main__":
    main()
