"""Does keeping freed memory (``finescale.app.heap.keep_freed_memory``, what the CLI does)
pay for the record's default? Each region's record default rolls the same slab in fresh
processes, glibc's own allocator and the tuned one alternating (so that a load beside falls
on both alike); prints JSON with the best wall time, user and system CPU, page faults and
peak RSS of each, the ratios, and whether the fields are bit-identical.

    python scripts/malloc_check.py [--regions area0,area1] [--days 3] [--members 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(region: str, days_n: int, members: int, out: str) -> dict:
    from finescale.app.heap import keep_freed_memory

    tuned = keep_freed_memory()  # FINESCALE_MALLOC=default: glibc's own
    import numpy as np
    import torch

    from finescale.data.layout import default_data_dir, open_dataset
    from finescale.model.bench import record_sample
    from finescale.model.config import SamplerConfig
    from finescale.model.device import fast_precision
    from finescale.model.inference import prepare_run
    from finescale.model.reconstruct import roll_slab
    from finescale.model.registry import SHIPPED_DIR

    ds = open_dataset(default_data_dir())
    ckpt, kind, days = record_sample(ds, [SHIPPED_DIR], region, "JJA", days_n)
    sampler = SamplerConfig(precision=fast_precision(torch.device("cpu")))
    run = prepare_run(ds, [ckpt], days, "cpu", region)
    roll_slab(run, days[:1], members, 0, 0, sampler)  # warm-up
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    best, fields = float("inf"), None
    for _ in range(2):
        t = time.perf_counter()
        fields = roll_slab(run, days, members, 0, 0, sampler)
        best = min(best, time.perf_counter() - t)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    np.save(out, fields)
    return {"tuned": bool(tuned), "kind": kind, "precision": sampler.precision,
            "best_s": best, "user_s": r1.ru_utime - r0.ru_utime,
            "sys_s": r1.ru_stime - r0.ru_stime, "page_faults": r1.ru_minflt - r0.ru_minflt,
            "peak_rss_mb": r1.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", default="area0,area1")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("REGION", "OUT"))
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.days, a.members, a.child[1])))
        return
    import numpy as np

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for region in a.regions.split(","):
            runs = {"default": [], "tuned": []}
            for i in range(a.rounds):
                for mode in ("default", "tuned"):
                    out = str(Path(tmp) / f"{region}-{mode}-{i}.npy")
                    env = {**os.environ, "FINESCALE_MALLOC": "default" if mode == "default"
                           else "tuned"}
                    p = subprocess.run([sys.executable, __file__, "--days", str(a.days),
                                        "--members", str(a.members), "--child", region, out],
                                       env=env, capture_output=True, text=True, check=True)
                    runs[mode].append({**json.loads(p.stdout.splitlines()[-1]), "out": out})
            d = min(runs["default"], key=lambda r: r["best_s"])
            t = min(runs["tuned"], key=lambda r: r["best_s"])
            same = all(np.array_equal(np.load(r["out"]), np.load(d["out"]))
                       for r in runs["default"] + runs["tuned"])
            for r in runs["default"] + runs["tuned"]:
                r.pop("out")
            rows.append({"region": region, "kind": d["kind"], "precision": d["precision"],
                         "member_days": a.days * a.members, "default": d, "tuned": t,
                         "speedup": d["best_s"] / t["best_s"],
                         "tuned_took_effect": all(r["tuned"] for r in runs["tuned"]),
                         "fields_bit_identical": same, "runs": runs})
    print(json.dumps({"load_beside": os.environ.get("LOAD_BESIDE", "none said"),
                      "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
