"""Find checkpoints on disk (shipped in ``assets/weights`` and user-trained) by manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from finescale.data.resources import asset

SHIPPED_DIR = asset("weights")


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    kind: str
    region: str
    season: str
    preset: str
    source: str  # "shipped" or "user"
    fingerprint: str = ""  # of the data it was trained on


def find_checkpoints(*dirs: Path) -> list[CheckpointInfo]:
    """All readable checkpoint manifests under ``dirs`` (recursive; resume files skipped)."""
    found = []
    for d in dirs:
        d = Path(d).expanduser()
        if not d.is_dir():
            continue
        for mp in sorted(d.rglob("*.json")):
            w = mp.with_suffix(".safetensors")
            if mp.name.startswith(".") or not w.exists():
                continue
            try:
                m = json.loads(mp.read_text())
            except (OSError, ValueError):
                continue
            if m.get("format") != "finescale-checkpoint" or m.get("kind") in (None, "resume"):
                continue
            found.append(CheckpointInfo(
                path=w, kind=m["kind"], region=m.get("region", "?"),
                season=m.get("season", "?"), preset=m.get("preset", "?"),
                source="shipped" if d.resolve() == SHIPPED_DIR.resolve() else "user",
                fingerprint=m.get("data_fingerprint", "")))
    return found
