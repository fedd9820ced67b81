"""Find checkpoints on disk (shipped in ``assets/weights`` and user-trained) by manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from finescale.data.errors import FinescaleError
from finescale.data.layout import default_data_dir
from finescale.data.resources import asset

SHIPPED_DIR = asset("weights")
ENV_CHECKPOINTS = "FINESCALE_CHECKPOINTS"


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


def user_checkpoint_dir() -> Path:
    """Where training writes by default: ``$FINESCALE_CHECKPOINTS``, else beside the default
    data directory (``~/.local/share/finescale/checkpoints``)."""
    env = os.environ.get(ENV_CHECKPOINTS)
    return Path(env).expanduser() if env else default_data_dir().parent / "checkpoints"


def shipped_names() -> list[str]:
    """Names of the shipped checkpoints, e.g. ``area0-JJA-diffusion``."""
    return [c.path.stem for c in find_checkpoints(SHIPPED_DIR)]


def resolve_checkpoint(name: str | Path) -> Path:
    """A checkpoint path from a path or a name (``REGION-SEASON-KIND``), looked up among the
    user's checkpoints first, then the shipped ones. ``REGION-SEASON`` alone names the
    default model of that pair: the distilled student of its diffusion model where one was
    distilled from exactly those weights, else the diffusion model."""
    p = Path(name).expanduser()
    if p.suffix == ".safetensors" or p.exists():
        return p
    parts = str(name).rsplit("-", 1)
    if len(parts) == 2 and parts[1] in ("DJF", "MAM", "JJA", "SON"):
        teacher = resolve_checkpoint(f"{name}-diffusion")
        return student_of(teacher) or teacher
    for d in (user_checkpoint_dir(), SHIPPED_DIR):
        hit = d / f"{name}.safetensors"
        if hit.exists():
            return hit
    raise FinescaleError(f"no checkpoint named {str(name)!r}: not a file, nor in "
                         f"{user_checkpoint_dir()} or the shipped ones "
                         f"({', '.join(shipped_names()[:4])}, …)")


def seasonal_checkpoints(sources: list[str | Path], region: str, kind: str,
                         seasons: list[str]) -> list[Path]:
    """One checkpoint per season of ``seasons`` from files, names or directories (searched
    recursively); the first source that has a season wins."""
    found: dict[str, Path] = {}
    for src in sources:
        p = Path(src).expanduser()
        infos = find_checkpoints(p) if p.is_dir() else [_info(resolve_checkpoint(src))]
        for c in infos:
            if c.region == region and c.kind == kind and c.season in seasons:
                found.setdefault(c.season, c.path)
    missing = [s for s in seasons if s not in found]
    if missing:
        raise FinescaleError(f"no {kind} checkpoint of region {region} for season(s) "
                             f"{', '.join(missing)} in {', '.join(map(str, sources))}; the "
                             f"period needs {', '.join(seasons)}")
    return [found[s] for s in seasons]


def is_student_of(student: Path, teacher: Path) -> bool:
    """Was ``student`` distilled from exactly these ``teacher`` weights (SHA-256)?"""
    want = _manifest(teacher).get("weights_sha256")
    return want is not None and \
        _manifest(student).get("teacher", {}).get("weights_sha256") == want


def student_of(teacher: Path, sources: list[str | Path] | None = None) -> Path | None:
    """The distilled student of ``teacher`` (its region and season, distilled from these very
    weights), looked for beside the teacher, then in ``sources`` and the shipped weights."""
    t = _info(Path(teacher))
    name = f"{t.region}-{t.season}-distilled.safetensors"
    dirs = [Path(teacher).parent, *(Path(s) for s in sources or [] if Path(s).is_dir()),
            SHIPPED_DIR]
    for d in dirs:
        if (d / name).exists() and is_student_of(d / name, teacher):
            return d / name
    return None


RECORD_KINDS = ("auto", *("diffusion", "distilled", "ablation", "unet", "transfer", "vae"))


def record_checkpoints(sources: list[str | Path], region: str, kind: str,
                       seasons: list[str]) -> tuple[list[Path], str]:
    """The checkpoints of a record and their kind. ``auto``: the distilled students of the
    seasons' diffusion models where every season has one (one network call per map),
    else the diffusion models themselves."""
    if kind != "auto":
        return seasonal_checkpoints(sources, region, kind, seasons), kind
    teachers = seasonal_checkpoints(sources, region, "diffusion", seasons)
    students = [student_of(t, sources) for t in teachers]
    if all(students):
        return students, "distilled"
    return teachers, "diffusion"


def _manifest(path: Path) -> dict:
    try:
        return json.loads(Path(path).with_suffix(".json").read_text())
    except (OSError, ValueError) as err:
        raise FinescaleError(f"{path}: cannot read its manifest ({err})") from None


def _info(path: Path) -> CheckpointInfo:
    m = _manifest(path)
    return CheckpointInfo(path=path, kind=m.get("kind", "?"), region=m.get("region", "?"),
                          season=m.get("season", "?"), preset=m.get("preset", "?"),
                          source="user")
