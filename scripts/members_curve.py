"""Scores against ensemble size: do the infinite-member estimates hold up?

For each pair, the shipped diffusion model generates ``--members`` members on its test days
once (the report's settings: DPM-Solver++(2M) 12 steps, bf16, its own noise memory, seed
0); the scores of the first N members are computed for N = 1, 2, 4, … ``--members``: the
N-member R², RMSE and CRPS, and the size-fair ``r2_inf`` and ``crps_fair`` from each N
(undefined at N = 1). If the estimators are right, ``r2_inf`` and ``crps_fair`` stay flat in
N while the N-member R² rises and the CRPS falls towards them. Prints JSON; with
``--figure`` also one PNG (one panel per score, a line per pair). With ``--cache DIR`` the
members are kept as they are generated (8 days at a time, as ``evaluate --cache`` keeps
them): a stopped run resumes, a finished one only scores again.

Usage: python scripts/members_curve.py [--pairs area1-DJF,area1-MAM,area1-JJA,area1-SON]
       [--members 16] [--days 0] [--out docs/data/members-curve.json]
       [--figure docs/img/members-curve.png] [--data DIR] [--checkpoints DIR] [--cache DIR]
       [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from finescale.data import scores
from finescale.data.errors import FinescaleError
from finescale.data.evaluation import check_generated, pointwise, scaled
from finescale.data.layout import open_dataset
from finescale.data.seasons import in_season
from finescale.data.splits import SplitConfig, make_split
from finescale.model.checkpoints import read_manifest
from finescale.model.config import SamplerConfig
from finescale.model.datasets import fingerprint
from finescale.model.device import resolve_device
from finescale.model.evalcache import GenerationCache, entry_key, kept_days
from finescale.model.generation import generate_days
from finescale.model.registry import SHIPPED_DIR

AREA1 = "area1-DJF,area1-MAM,area1-JJA,area1-SON"


def sizes(members: int) -> list[int]:
    """1, 2, 4, … up to ``members`` (and ``members`` itself)."""
    out = [1]
    while out[-1] * 2 <= members:
        out.append(out[-1] * 2)
    return out if out[-1] == members else [*out, members]


def curve(gen, truth, transform: str) -> list[dict]:
    """Scores of the first N members for every N of :func:`sizes`."""
    rows = []
    for n in sizes(gen.sizes["member"]):
        g = gen.isel(member=slice(0, n))
        rec = pointwise(g, truth, transform)
        inf = (scores.ensemble_mean_inf(scaled(transform, g).values,
                                        scaled(transform, truth).values) if n > 1 else {})
        rows.append({"members": n, "r2": rec["r2"], "rmse": rec["rmse"],
                     "crps": rec["crps"] if rec["crps"] is not None else rec["mae"],
                     "r2_inf": inf.get("r2_inf"), "crps_fair": rec["crps_fair"],
                     "rmse_inf": float(np.sqrt(inf["mse_inf"])) if n > 1 else None})
    return rows


def pair_curve(ds, path: Path, members: int, n_days: int, cache: Path | None = None,
               device: str = "cpu") -> dict:
    m = read_manifest(path)
    region, season = m["region"], m["season"]
    fine = pd.DatetimeIndex(ds.region(region).fine["time"].values)
    days = make_split(fine, season, SplitConfig(**m["split"])).test
    days = days[in_season(days, season)]
    days = days[:n_days] if n_days else days
    sampler = SamplerConfig(steps=12, precision="bf16")
    kept = None if cache is None else GenerationCache(cache)
    key = entry_key(path, fingerprint(ds.manifest, region), days, None, members, sampler, 0,
                    device)
    where = (region, season, "diffusion-members", key)
    hit = None if kept is None else kept.get(*where)
    if hit is not None:
        out = hit[0]
    else:
        out, seconds = kept_days(kept, where, days, lambda c: generate_days(
            ds, [path], c, members=members, sampler=sampler, seed=0, device=device,
            progress=True))
        if kept is not None:
            kept.put(*where, out, None, seconds)
    g, t = check_generated(out, ds.variable, name=f"{region} {season}")
    return {"region": region, "season": season, "days": int(days.size),
            "checkpoint": path.name, "curve": curve(g, t, str(out.attrs.get("transform",
                                                                            "log")))}


def figure(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for res in results:
        c = pd.DataFrame(res["curve"])
        label = f"{res['region']} {res['season']}"
        for ax, (n_key, inf_key, title) in zip(axes, (("r2", "r2_inf", "R² of the ensemble mean"),
                                                      ("rmse", "rmse_inf", "RMSE"),
                                                      ("crps", "crps_fair", "CRPS")),
                                               strict=True):
            (line,) = ax.plot(c["members"], c[n_key], "o-", label=f"{label}, N members")
            ax.plot(c["members"], c[inf_key], "s--", color=line.get_color(),
                    label=f"{label}, ∞ estimate")
            ax.set(xscale="log", xlabel="members N", title=title)
            ax.set_xticks(c["members"], [str(n) for n in c["members"]])
    axes[0].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", default=AREA1)
    p.add_argument("--members", type=int, default=16)
    p.add_argument("--days", type=int, default=0, help="first N test days (0 = all)")
    p.add_argument("--checkpoints", type=Path, default=SHIPPED_DIR)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    p.add_argument("--figure", type=Path, default=None)
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    p.add_argument("--cache", type=Path, default=None,
                   help="keep the generated members here (resume a stopped run)")
    a = p.parse_args(argv)
    if a.members < 2:
        print("members_curve: --members must be >= 2", file=sys.stderr)
        return 2
    try:
        ds = open_dataset(a.data)
        device = str(resolve_device(a.device))
    except FinescaleError as err:  # bad input: one line, exit 2
        print(f"members_curve: {err}", file=sys.stderr)
        return 2
    results = [pair_curve(ds, a.checkpoints / f"{pair}-diffusion.safetensors", a.members,
                          a.days, a.cache, device) for pair in a.pairs.split(",")]
    text = json.dumps(results, indent=1)
    print(text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text + "\n")
    if a.figure:
        figure(results, a.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
