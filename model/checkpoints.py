"""Checkpoints: safetensors weights + a JSON manifest, written atomically, loaded safely.

``NAME.safetensors`` holds tensors only (no code, no pickle); ``NAME.json`` holds the model
kind, architecture config, area, season, transform, dataset fingerprint, training history,
library versions and the SHA-256 of the weights file, so a truncated or tampered file, a
checkpoint of another architecture or for other data is refused with a clear message.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from finescale.data.errors import FinescaleError
from finescale.data.hashing import file_sha256
from finescale.data.layout import read_json

FORMAT = "finescale-checkpoint"
VERSION = 1
PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # pickle protocol ≥ 2, torch.save zip archive


def checkpoint_name(region: str, season: str, kind: str) -> str:
    return f"{region}-{season}-{kind}"


def manifest_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".json")


def sha256(path: Path) -> str:
    return file_sha256(path)


def versions() -> dict:
    import xarray

    return {"torch": torch.__version__, "numpy": np.__version__, "xarray": xarray.__version__,
            "python": platform.python_version()}


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], manifest: dict,
                    half: bool = False) -> Path:
    """Write weights then manifest, each atomically (temp file + rename)."""
    path = Path(path)
    flat = {k: (v.detach().to("cpu", torch.float16 if half and v.is_floating_point()
                              else v.dtype)).contiguous() for k, v in tensors.items()}
    _atomic_write(path, lambda p: save_file(flat, str(p)))
    full = {"format": FORMAT, "format_version": VERSION, **manifest,
            "weights_sha256": sha256(path), "storage": "float16" if half else "float32",
            "versions": versions()}
    _atomic_write(manifest_path(path),
                  lambda p: p.write_text(json.dumps(full, indent=2, default=str)))
    return path


def read_manifest(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FinescaleError(f"checkpoint not found: {path}")
    with open(path, "rb") as f:
        head = f.read(9)
    size = path.stat().st_size
    is_safetensors = len(head) == 9 and head[8:9] == b"{" and \
        int.from_bytes(head[:8], "little") < size
    if not is_safetensors:
        if head.startswith(PICKLE_MAGIC):
            raise FinescaleError(f"{path} is a pickle/torch.save file; finescale loads only "
                                 "safetensors checkpoints and never unpickles")
        raise FinescaleError(f"{path} is not a safetensors file (truncated or another format)")
    mpath = manifest_path(path)
    if not mpath.exists():
        raise FinescaleError(f"checkpoint manifest missing: {mpath}")
    m = read_json(mpath)
    if m.get("format") != FORMAT:
        raise FinescaleError(f"{mpath} is not a finescale checkpoint manifest")
    return m


def read_checkpoint(path: Path, *, kind: str | None = None, region: str | None = None,
                    season: str | None = None,
                    fingerprint: str | Sequence[str] | None = None
                    ) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and validate a checkpoint; return its float32 tensors and manifest.
    ``fingerprint``: the identity (or identities) of the data it must have been trained on."""
    path = Path(path)
    m = read_manifest(path)
    if sha256(path) != m.get("weights_sha256"):
        raise FinescaleError(f"{path} does not match its manifest (truncated or modified "
                             "after saving); retrain or restore the file")
    for key, want in (("kind", kind), ("region", region), ("season", season)):
        if want is not None and m.get(key) != want:
            raise FinescaleError(f"{path} is a {m.get('kind')} checkpoint for "
                                 f"{m.get('region')} {m.get('season')}; expected {key} {want!r}")
    want_fp = (fingerprint,) if isinstance(fingerprint, str) else fingerprint
    if want_fp is not None and m.get("data_fingerprint") not in want_fp:
        raise FinescaleError(f"{path} was trained on other data (fingerprint "
                             f"{m.get('data_fingerprint')}, this dataset {want_fp[0]})")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise FinescaleError(f"{path} is not a readable safetensors file: {err}") from None
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}, m


def load_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path,
              prefix: str = "") -> None:
    """Load weights into ``module``, explaining an architecture mismatch in one line."""
    sub = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    own = module.state_dict()
    missing = sorted(set(own) - set(sub))
    extra = sorted(set(sub) - set(own))
    bad = [k for k in own if k in sub and own[k].shape != sub[k].shape]
    if missing or extra or bad:
        detail = (f"missing {missing[:2]}" if missing else f"unexpected {extra[:2]}" if extra
                  else f"shape of {bad[0]} is {tuple(sub[bad[0]].shape)}, "
                       f"model has {tuple(own[bad[0]].shape)}")
        raise FinescaleError(f"{path} does not fit the architecture in its manifest ({detail})")
    module.load_state_dict(sub)
