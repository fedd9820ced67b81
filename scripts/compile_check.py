"""Does torch.compile pay for the record's default? One region's student (the record's
default model) rolls the same slab eager and compiled (inductor: the student's network and
the encoder's features), in fp32 and bf16, alternating eager and compiled so that a load
beside it falls on both alike; prints JSON with the ratios and the largest difference of
the compiled fields from eager (log10).

    python scripts/compile_check.py [--region area0] [--days 4] [--members 2] [--repeat 2]
                                    [--precisions fp32,bf16]

On a CPU without native bf16 pass ``--precisions fp32``: emulated bf16 is ~44x slower.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from finescale.data.layout import default_data_dir, open_dataset
from finescale.model.bench import record_sample
from finescale.model.config import SamplerConfig
from finescale.model.device import fast_precision
from finescale.model.inference import prepare_run
from finescale.model.reconstruct import roll_slab
from finescale.model.registry import SHIPPED_DIR


def slab_seconds(run, days, members, sampler, repeat) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = roll_slab(run, days, members, 0, 0, sampler)
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default="area0")
    ap.add_argument("--season", default="JJA")
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,bf16")
    a = ap.parse_args()
    ds = open_dataset(default_data_dir())
    ckpt, kind, days = record_sample(ds, [SHIPPED_DIR], a.region, a.season, a.days)
    rows = []
    for precision in a.precisions.split(","):
        sampler = SamplerConfig(precision=precision)
        eager = prepare_run(ds, [ckpt], days, "cpu", a.region)
        compiled = prepare_run(ds, [ckpt], days, "cpu", a.region)
        compiled.compile()  # what `reconstruct --compile on` runs
        t = time.perf_counter()
        for _ in range(2):  # every shape a slab meets (shared and own histories) compiled
            roll_slab(compiled, days[:2], a.members, 0, 0, sampler)
        compile_s = time.perf_counter() - t
        roll_slab(eager, days[:1], a.members, 0, 0, sampler)  # warm-up
        e1, ref = slab_seconds(eager, days, a.members, sampler, a.repeat)
        c1, out = slab_seconds(compiled, days, a.members, sampler, a.repeat)
        e2, _ = slab_seconds(eager, days, a.members, sampler, a.repeat)
        c2, _ = slab_seconds(compiled, days, a.members, sampler, a.repeat)
        diff = np.abs(np.log10(out) - np.log10(ref))
        md = a.days * a.members
        rows.append({"precision": precision, "eager_s_per_member_day": min(e1, e2) / md,
                     "compiled_s_per_member_day": min(c1, c2) / md,
                     "speedup": min(e1, e2) / min(c1, c2), "compile_s": compile_s,
                     "max_abs_log10_diff": float(diff.max()),
                     "mean_abs_log10_diff": float(diff.mean())})
    by = {r["precision"]: r for r in rows}
    out = {"region": a.region, "season": a.season, "checkpoint": ckpt.name, "kind": kind,
           "days": a.days, "members": a.members, "torch": torch.__version__,
           "threads": torch.get_num_threads(),
           "native_bf16": fast_precision(torch.device("cpu")) == "bf16",
           "load_beside": os.environ.get("LOAD_BESIDE", "none said"), "rows": rows}
    if {"fp32", "bf16"} <= set(by):
        out["fp32_compiled_over_bf16_eager"] = (by["fp32"]["compiled_s_per_member_day"]
                                                / by["bf16"]["eager_s_per_member_day"])
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
