"""Window seams of the distilled student, made visible: the members' mean |Laplacian| of
log10 AOT (8 members, one day) for several window settings of the same student. Noise
averages out over the members; a window edge, the same for every member, stays as a line.
Writes a PNG (docs/img/distilled-seams.png).

    python scripts/distill_seams.py --day 2006-07-09 --out docs/img/distilled-seams.png
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from finescale.data.layout import open_dataset
from finescale.model.config import SamplerConfig
from finescale.model.generation import generate
from finescale.model.inference import load_model
from finescale.model.registry import resolve_checkpoint

SETTINGS = ((8, 0.0), (8, 0.5), (2, 0.25))  # (halo px, overlap) of 48-px windows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pair", default="area1-JJA")
    p.add_argument("--day", default="2006-07-09")
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--crop", type=int, default=160, help="pixels shown (square, from 100, 100)")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    ds = open_dataset(a.data)
    lm = load_model(resolve_checkpoint(f"{a.pair}-distilled"), ds)
    panels = []
    for halo, overlap in SETTINGS:
        cfg = dataclasses.replace(lm.cfg, student_halo=halo, student_overlap=overlap)
        out = generate(ds, [dataclasses.replace(lm, cfg=cfg)], a.day, a.day, members=8,
                       sampler=SamplerConfig(calls=1, precision="bf16"), seed=0,
                       progress=False)
        x = np.log10(out[ds.variable].isel(time=0).values)  # member, lat, lon
        lap = np.abs(4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1]
                     - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]).mean(0)
        sl = slice(100, 100 + a.crop)
        panels.append((f"48-px windows, halo {halo}, overlap {overlap}", lap[sl, sl]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 4.6),
                             constrained_layout=True)
    for ax, (title, img) in zip(axes, panels, strict=True):
        ax.imshow(img, cmap="gray", vmax=float(np.quantile(img, 0.98)), origin="lower")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{a.pair} student, {a.day}: members' mean |Laplacian| of log10 AOT "
                 "(lines = window seams)", fontsize=10)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=90)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
