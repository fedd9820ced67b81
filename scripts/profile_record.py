"""Where a record day's time goes: one region's record default (its student, the device's
precision) rolls a few days while torch's profiler counts the operators; prints JSON with
the wall time, the encoder's share (``TransferEncoder.features``) and the operators that
took the most time (self CPU), each with its share.

    python scripts/profile_record.py [--region area0] [--season JJA] [--days 3] [--members 2]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch.profiler import ProfilerActivity, profile

from finescale.app.heap import keep_freed_memory
from finescale.data.layout import default_data_dir, open_dataset
from finescale.model import networks
from finescale.model.bench import record_sample
from finescale.model.config import SamplerConfig
from finescale.model.device import fast_precision
from finescale.model.inference import prepare_run
from finescale.model.reconstruct import roll_slab
from finescale.model.registry import SHIPPED_DIR


def main() -> None:
    keep_freed_memory()  # as every finescale command does (app.heap)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default="area0")
    ap.add_argument("--season", default="JJA")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--top", type=int, default=8)
    a = ap.parse_args()
    ds = open_dataset(default_data_dir())
    ckpt, kind, days = record_sample(ds, [SHIPPED_DIR], a.region, a.season, a.days)
    sampler = SamplerConfig(precision=fast_precision(torch.device("cpu")))
    run = prepare_run(ds, [ckpt], days, "cpu", a.region)
    roll_slab(run, days[:1], a.members, 0, 0, sampler)  # warm-up

    spent = [0.0]
    features = networks.TransferEncoder.features

    def timed(self, *args, **kw):
        t = time.perf_counter()
        try:
            return features(self, *args, **kw)
        finally:
            spent[0] += time.perf_counter() - t

    networks.TransferEncoder.features = timed
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        roll_slab(run, days, a.members, 0, 0, sampler)
    wall = time.perf_counter() - t0
    networks.TransferEncoder.features = features
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ops)
    print(json.dumps({
        "region": a.region, "season": a.season, "checkpoint": ckpt.name, "kind": kind,
        "precision": sampler.precision, "days": a.days, "members": a.members,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "wall_s_profiled": wall, "encoder_features_share": spent[0] / wall,
        "top_ops": [{"op": e.key, "calls": e.count, "self_share": e.self_cpu_time_total / total}
                    for e in ops[:a.top]]}, indent=1))


if __name__ == "__main__":
    main()
