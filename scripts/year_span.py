"""Write ``year_span`` (the calendar time a downscaler was fitted on) into the manifests of
checkpoints trained before it was recorded, from their split on the dataset they were
trained on, so that they pin the year the same way on any grid (``finescale.model.api``
on a user's grid has no fine record to recompute the split from).

    python scripts/year_span.py assets/weights [--data DIR]

Only the JSON manifest changes (the weights and their SHA-256 do not); a checkpoint whose
data fingerprint is not this dataset's is left alone and named. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from finescale.data.layout import open_dataset
from finescale.data.splits import SplitConfig, make_split
from finescale.model.checkpoints import manifest_path, read_manifest
from finescale.model.datasets import fingerprints, fitted_years


def backfill(path: Path, ds) -> str:
    """``written``, ``kept`` (already has one, or an encoder) or ``other data``."""
    m = read_manifest(path)
    if m["kind"] == "encoder" or m.get("year_span"):
        return "kept"
    if m.get("data_fingerprint") not in fingerprints(ds.manifest, m["region"]):
        return "other data"
    days = pd.DatetimeIndex(ds.region(m["region"]).fine["time"].values)
    split = make_split(days, m["season"], SplitConfig(**m["split"]))
    m["year_span"] = list(fitted_years(split.train.union(split.val)))
    target = manifest_path(path)
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(m, indent=2, default=str))
    tmp.replace(target)
    return "written"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("folder", type=Path)
    p.add_argument("--data", type=Path, default=None)
    a = p.parse_args()
    ds = open_dataset(a.data)
    out: dict[str, list[str]] = {}
    for path in sorted(a.folder.glob("*.safetensors")):
        out.setdefault(backfill(path, ds), []).append(path.stem)
    print(json.dumps({k: len(v) if k != "other data" else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
