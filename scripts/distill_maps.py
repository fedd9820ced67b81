"""One test day, side by side: the truth, a member of the teacher (12 steps) and of the
distilled student in 1 and 2 calls, same seed. Writes a PNG (docs/img/distilled-maps.png).

    python scripts/distill_maps.py --day 2005-07-02 --out docs/img/distilled-maps.png
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

from finescale.data.layout import open_dataset
from finescale.model.config import SamplerConfig
from finescale.model.generation import generate
from finescale.model.inference import load_model
from finescale.model.registry import resolve_checkpoint


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pair", default="area0-JJA")
    p.add_argument("--day", default="2005-07-02")
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    ds = open_dataset(a.data)
    var = ds.variable
    panels = []
    for title, kind, sampler in (
            ("teacher, 12 steps", "diffusion", SamplerConfig(precision="bf16")),
            ("student, 1 call", "distilled", SamplerConfig(calls=1, precision="bf16")),
            ("student, 2 calls", "distilled", SamplerConfig(calls=2, precision="bf16"))):
        lm = load_model(resolve_checkpoint(f"{a.pair}-{kind}"), ds)
        out = generate(ds, [lm], a.day, a.day, members=1, sampler=sampler, seed=a.seed,
                       progress=False)
        if not panels:
            panels.append(("G5NR (truth)", out[f"{var}_truth"].isel(time=0)))
        panels.append((title, out[var].isel(member=0, time=0)))
    truth = panels[0][1]
    norm = LogNorm(float(truth.quantile(0.01)), float(truth.quantile(0.99)))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6),
                             constrained_layout=True)
    for ax, (title, da) in zip(axes, panels, strict=True):
        im = ax.pcolormesh(da["lon"], da["lat"], da.values, norm=norm, cmap="inferno")
        ax.set_title(title)
        ax.set_aspect(1 / math.cos(math.radians(float(da["lat"].mean()))))  # geographic
    fig.colorbar(im, ax=axes, label=f"{var} ({a.pair} {a.day}, member 0)", shrink=0.9)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
