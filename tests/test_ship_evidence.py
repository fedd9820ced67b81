"""scripts/ship_evidence.sh, run with a stand-in `finescale` that records what it is asked
to do: it refuses a partial ship, copies every model, re-distils only the students whose
teacher changed, and scores what it shipped in one evaluate run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("diffusion", "vae", "unet", "ablation", "transfer")
PAIRS = ("area0-DJF", "area1-JJA")

FAKE_FS = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "train distilled" ]; then
  while [ $# -gt 0 ]; do
    case $1 in --region) r=$2;; --season) s=$2;; --teacher) t=$2;; --out) o=$2;; esac; shift
  done
  sha=$(sha256sum "$t" | cut -d' ' -f1)
  printf '{"teacher": {"weights_sha256": "%s"}, "new": true}' "$sha" > "$o/$r-$s-distilled.json"
  echo student > "$o/$r-$s-distilled.safetensors"
fi
"""
FAKE_PY = """#!/usr/bin/env bash
if [ "$1" = "-" ]; then exec "{python}" "$@"; fi
echo "page $*" >> "$FAKE_LOG"
"""


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def folders(tmp_path):
    src, dst = tmp_path / "from", tmp_path / "to"
    src.mkdir(), dst.mkdir()
    for pair in PAIRS:
        for kind in KINDS:
            (src / f"{pair}-{kind}.safetensors").write_bytes(os.urandom(64))
            (src / f"{pair}-{kind}.json").write_text(json.dumps({"kind": kind}))
        (dst / f"{pair}-diffusion.safetensors").write_bytes(b"old teacher")
        (dst / f"{pair}-diffusion.json").write_text("{}")
        (dst / f"{pair}-distilled.safetensors").write_bytes(b"old student")
    # area0-DJF's student was distilled from the new teacher already, area1-JJA's from the old
    new = _sha(src / "area0-DJF-diffusion.safetensors")
    old = _sha(dst / "area1-JJA-diffusion.safetensors")
    for pair, sha in (("area0-DJF", new), ("area1-JJA", old)):
        (dst / f"{pair}-distilled.json").write_text(
            json.dumps({"teacher": {"weights_sha256": sha}}))
    fs, py = tmp_path / "fs", tmp_path / "py"
    fs.write_text(FAKE_FS)
    py.write_text(FAKE_PY.format(python=sys.executable))
    fs.chmod(0o755), py.chmod(0o755)
    env = {**os.environ, "FROM": str(src), "TO": str(dst), "REPORT": str(tmp_path / "report"),
           "DOC": str(tmp_path / "evidence.md"), "CACHE": str(tmp_path / "cache"),
           "PAIRS": " ".join(PAIRS), "STUDENTS": " ".join(PAIRS), "FS": str(fs),
           "PY": str(py), "FAKE_LOG": str(tmp_path / "calls.log"), "JOBS": "1"}
    return src, dst, env, tmp_path / "calls.log"


def _ship(env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts/ship_evidence.sh")], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_partial_ship_is_refused_and_changes_nothing(folders):
    src, dst, env, log = folders
    (src / "area1-JJA-transfer.safetensors").unlink()
    before = {p.name: p.read_bytes() for p in dst.iterdir()}
    run = _ship(env)
    assert run.returncode == 2 and "area1-JJA-transfer" in run.stderr
    assert {p.name: p.read_bytes() for p in dst.iterdir()} == before and not log.exists()


def test_ship_copies_redistils_changed_teachers_and_scores_once(folders):
    src, dst, env, log = folders
    run = _ship(env)
    assert run.returncode == 0, run.stderr
    for pair in PAIRS:
        for kind in KINDS:
            for ext in ("safetensors", "json"):
                f = f"{pair}-{kind}.{ext}"
                assert (dst / f).read_bytes() == (src / f).read_bytes(), f
    assert not [p for p in dst.iterdir() if p.name.startswith(".")]  # no temporary left
    calls = log.read_text().splitlines()
    distils = [c for c in calls if c.startswith("train distilled")]
    assert len(distils) == 1 and "--region area1 --season JJA" in distils[0]
    assert f"--teacher {dst}/area1-JJA-diffusion.safetensors" in distils[0]
    fresh = json.loads((dst / "area1-JJA-distilled.json").read_text())
    assert fresh["new"] and fresh["teacher"]["weights_sha256"] == _sha(
        dst / "area1-JJA-diffusion.safetensors")
    assert (dst / "area0-DJF-distilled.safetensors").read_bytes() == b"old student"
    evals = [c.split() for c in calls if c.startswith("evaluate")]
    assert len(evals) == 1
    ckpts = evals[0][evals[0].index("--checkpoints") + 1:evals[0].index("--members")]
    assert sorted(ckpts) == sorted(f"{dst}/{p}-{k}.safetensors" for p in PAIRS
                                   for k in (*KINDS, "distilled"))
    assert evals[0][evals[0].index("--out") + 1] == env["REPORT"]
    assert any(c.startswith(f"page scripts/report_table.py {env['REPORT']}") for c in calls)
