"""Validation-patch scores of a distilled student against its teacher: CRPS, ensemble-mean
RMSE, spread/skill and roughness (members' mean squared gradient over the truth's) for the
teacher's default sampler and the student in 1 and 2 calls (each candidate second σ).
Prints JSON. Used to choose the distillation's settings on validation days, never test days.

    python scripts/distill_val.py STUDENT.safetensors [--data DIR] [--members 4]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from finescale.data.layout import open_dataset
from finescale.data.scores import crps, rmse, spread_skill
from finescale.data.splits import SplitConfig
from finescale.model.checkpoints import read_manifest
from finescale.model.config import SamplerConfig
from finescale.model.datasets import season_data
from finescale.model.inference import load_model
from finescale.model.registry import resolve_checkpoint
from finescale.model.samplers import karras_sigmas, sample_consistency, sample_dpm2m
from finescale.model.training import validation_batches


def teacher_of(m: dict) -> Path:
    """The student's teacher: its recorded path, else its name among yours or the shipped."""
    p = Path(m["teacher"]["path"])
    return p if p.exists() else resolve_checkpoint(m["teacher"]["name"])


def rough(x: np.ndarray) -> float:
    return float(np.mean(np.diff(x, axis=-1) ** 2) + np.mean(np.diff(x, axis=-2) ** 2))


def scores(ens: np.ndarray, truth: np.ndarray) -> dict:
    return {"crps": float(crps(ens, truth, m_axis=0)),
            "rmse_mean": float(rmse(ens.mean(0), truth)),
            "spread_skill": float(spread_skill(ens, truth, m_axis=0)),
            "roughness_ratio": rough(ens) / rough(truth)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("student", type=Path)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--members", type=int, default=4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    ds = open_dataset(a.data)
    m = read_manifest(a.student)
    st = load_model(a.student, ds)
    te = load_model(teacher_of(m), ds)
    sd = season_data(ds.region(st.region), st.season, SplitConfig(**m["split"]), in_memory=True)
    sam = SamplerConfig()
    cfg = te.cfg
    val = validation_batches(sd, cfg, te.enc_cfg.history, te.encoder, a.batch, a.seed,
                             torch.device("cpu"))
    truth = np.concatenate([t.numpy() for t, _ in val])
    mids = [0.0] + [round(f * cfg.sigma_data, 5) for f in (0.25, 0.5, 1, 2, 4, 8)]
    runs: dict[str, list] = {"teacher_12": [], "teacher_1": [], "teacher_2": [],
                             **{f"student_{mid:g}": [] for mid in mids}}
    with torch.no_grad():
        for k, (t, c) in enumerate(val):
            cm = c.repeat(a.members, 1, 1, 1)
            g = torch.Generator().manual_seed(a.seed * 1000 + k)
            z = torch.randn((cm.shape[0], *t.shape[1:]), generator=g)
            for steps in (12, 1, 2):
                sig = karras_sigmas(steps, sam.sigma_min, sam.sigma_max, sam.rho)
                runs[f"teacher_{steps}"].append(sample_dpm2m(te.model, z, cm, sig))
            for mid in mids:
                sig = torch.tensor([sam.sigma_max] + ([mid] if mid else []))
                x = sample_consistency(st.model, z, cm, sig, sam.sigma_min,
                                       generator=torch.Generator().manual_seed(k + 77))
                runs[f"student_{mid:g}"].append(x)
    out = {}
    for name, xs in runs.items():
        ens = np.concatenate([x.reshape(a.members, -1, *x.shape[1:]).numpy() for x in xs],
                             axis=1)
        out[name] = {k: round(v, 5) for k, v in scores(ens, truth).items()}
    print(json.dumps({"student": str(a.student), "sigma_data": cfg.sigma_data,
                      "patches": int(truth.shape[0]), "members": a.members, "scores": out},
                     indent=1))


if __name__ == "__main__":
    main()
