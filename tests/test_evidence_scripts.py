"""scripts/evidence.sh and scripts/ship_evidence.sh, run with a stand-in `finescale` that
records what it is asked to do. evidence.sh trains what is missing, pair by pair, and scores
everything in one evaluate run; ship_evidence.sh refuses a partial ship, copies every model,
re-distils only the students whose teacher changed, and scores what it shipped."""

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
[ "$1 $2" != "train ${FAIL_KIND:-none}" ] || exit 1
if [ "$1" = train ] && [ "$2" != distilled ]; then
  k=$2; while [ $# -gt 0 ]; do
    case $1 in --region) r=$2;; --season) s=$2;; --out) o=$2;; esac; shift
  done
  echo weights > "$o/$r-$s-$k.safetensors"; echo "{}" > "$o/$r-$s-$k.json"
elif [ "$1 $2" = "train distilled" ]; then
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
    (tmp_path / "old-report").mkdir()
    env = {**os.environ, "FROM": str(src), "TO": str(dst), "REPORT": str(tmp_path / "report"),
           "OLD_REPORT": str(tmp_path / "old-report"),
           "DOC": str(tmp_path / "evidence.md"), "CACHE": str(tmp_path / "cache"),
           "PAIRS": " ".join(PAIRS), "STUDENTS": " ".join(PAIRS), "FS": str(fs),
           "PY": str(py), "FAKE_LOG": str(tmp_path / "calls.log"), "JOBS": "1",
           "HELDOUT_WEIGHTS": str(tmp_path / "heldout-weights"),
           "KEEP": str(tmp_path / "heldout-kept")}  # never the repository's own copy
    return src, dst, env, tmp_path / "calls.log"


def _ship(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts/ship_evidence.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_partial_ship_is_refused_and_changes_nothing(folders):
    src, dst, env, log = folders
    (src / "area1-JJA-transfer.safetensors").unlink()
    before = {p.name: p.read_bytes() for p in dst.iterdir()}
    run = _ship(env)
    assert run.returncode == 2 and "area1-JJA-transfer" in run.stderr
    assert {p.name: p.read_bytes() for p in dst.iterdir()} == before and not log.exists()
    assert src.exists() and Path(env["OLD_REPORT"]).exists()


def test_ship_copies_redistils_changed_teachers_and_scores_once(folders):
    src, dst, env, log = folders
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    run = _ship(env)
    assert run.returncode == 0, run.stderr
    for pair in PAIRS:
        for kind in KINDS:
            for ext in ("safetensors", "json"):
                f = f"{pair}-{kind}.{ext}"
                assert (dst / f).read_bytes() == before[f], f
    # the evidence's own folders are gone once shipped: one copy of the weights, one report
    assert not src.exists() and not Path(env["OLD_REPORT"]).exists()
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


def test_students_distilled_ahead_are_shipped_not_distilled_again(folders):
    src, dst, env, log = folders
    (src / "area1-JJA-diffusion.safetensors").rename(src / "held")  # its teacher not trained
    shipped = {p.name: p.read_bytes() for p in dst.iterdir()}
    run = _ship(env, "--ahead")
    assert run.returncode == 0, run.stderr
    assert "area1-JJA: no teacher" in run.stdout
    assert {p.name: p.read_bytes() for p in dst.iterdir()} == shipped  # TO is not touched
    (src / "held").rename(src / "area1-JJA-diffusion.safetensors")
    assert _ship(env, "--ahead").returncode == 0  # the second call distils only area1-JJA
    distils = [c for c in log.read_text().splitlines() if c.startswith("train distilled")]
    assert [d.split()[3:6:2] for d in distils] == [["area0", "DJF"], ["area1", "JJA"]]
    assert all(f"--out {src}" in d for d in distils)
    assert (dst / "area1-JJA-distilled.safetensors").read_bytes() == b"old student"
    ahead = {p.name: p.read_bytes() for p in src.glob("*-distilled.*")}
    assert len(ahead) == 4
    log.unlink()
    run = _ship(env)
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    assert not [c for c in calls if c.startswith("train ")]  # nothing distilled twice
    assert {n: (dst / n).read_bytes() for n in ahead} == ahead
    assert run.stdout.count("distilled ahead from this teacher") == 2


def test_evidence_trains_what_is_missing_pair_by_pair_then_scores_all(folders):
    src, _dst, env, log = folders
    for kind in ("vae", "transfer"):  # area1-JJA lacks two models
        (src / f"area1-JJA-{kind}.safetensors").unlink()
    (src / "area0-DJF-unet.safetensors").unlink()
    held = Path(env["HELDOUT_WEIGHTS"])  # models held out in time: scored in the same run
    held.mkdir()
    (held / "area1-JJA-diffusion.safetensors").write_bytes(b"held out")
    (held / "area1-MAM-diffusion.safetensors").write_bytes(b"not a pair of this run")
    env = {**env, "WEIGHTS": str(src), "JOBS": "1"}
    run = subprocess.run(["bash", str(ROOT / "scripts/evidence.sh")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    trained = [c.split()[1:6:2] for c in calls if c.startswith("train ")]
    assert trained == [["unet", "area0", "DJF"], ["vae", "area1", "JJA"],
                       ["transfer", "area1", "JJA"]]  # pair by pair, the longest first
    assert all(f"--out {src}" in c and "--epochs 18 --steps 100 --batch 64" in c
               for c in calls if c.startswith("train "))
    evals = [c.split() for c in calls if c.startswith("evaluate")]
    assert len(evals) == 1
    ckpts = evals[0][evals[0].index("--checkpoints") + 1:evals[0].index("--members")]
    assert sorted(ckpts) == sorted([*(f"{src}/{p}-{k}.safetensors" for p in PAIRS for k in KINDS),
                                    f"{held}/area1-JJA-diffusion.safetensors"])
    assert "--members 4 --days 0 --rollout 30" in " ".join(evals[0])
    # run again: nothing left to train
    log.unlink()
    subprocess.run(["bash", str(ROOT / "scripts/evidence.sh")], env=env, check=True,
                   capture_output=True, timeout=120)
    assert not [c for c in log.read_text().splitlines() if c.startswith("train ")]


@pytest.mark.parametrize("collecting", [True, False])
def test_evidence_folders_follow_the_ship_step(tmp_path, collecting):
    """evidence.sh and gpu_evidence.sh share one choice of folders: the evidence folders
    while they exist, the shipped ones once ship_evidence.sh removed them; WEIGHTS wins."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/evidence_paths.sh").write_text(
        (ROOT / "scripts/evidence_paths.sh").read_text())
    work = tmp_path / "work"
    if collecting:
        (work / "weights").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("WEIGHTS", "REPORT", "DOC")}
    env["EVIDENCE_WORK"] = str(work)
    show = 'source scripts/evidence_paths.sh; echo "$WEIGHTS $REPORT $DOC"'
    out = subprocess.run(["bash", "-c", show], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    where = str(work) if collecting else "assets"
    assert out == [f"{where}/weights", f"{where}/report", "docs/evidence.md"]
    out = subprocess.run(["bash", "-c", show], cwd=tmp_path, env={**env, "WEIGHTS": "/w"},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "/w"
    for script in ("evidence.sh", "gpu_evidence.sh"):  # both read it, neither decides again
        text = (ROOT / "scripts" / script).read_text()
        assert "source scripts/evidence_paths.sh" in text
        assert "EVIDENCE_WORK/weights" not in text


def test_heldout_evidence_trains_a_pairs_kinds_side_by_side_with_jobs(folders, tmp_path):
    """JOBS > 1 (a GPU): after its encoder, a pair's four models train as four processes,
    each with its own log, and all are kept."""
    _, _, env, calls = folders
    env = {**env, "ROOT": str(tmp_path / "h"), "HELDOUT": "area1-DJF:2006", "JOBS": "4",
           "STAGES": "train"}
    r = subprocess.run(["bash", str(ROOT / "scripts/heldout_evidence.sh")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    trains = [c.split()[1] for c in calls.read_text().splitlines() if c.startswith("train ")]
    assert trains[0] == "encoder" and sorted(trains[1:]) == sorted(
        ["diffusion", "unet", "ablation", "transfer"])
    assert len(list((tmp_path / "h").glob("train-area1-DJF-*.log"))) == 4
    assert len(list(Path(env["KEEP"]).glob("area1-DJF-*.safetensors"))) == 5


def test_heldout_evidence_keeps_each_model_as_soon_as_it_is_trained(folders, tmp_path):
    """A training that stops (a session's end) loses no model trained before it: each is in
    KEEP (the repository) already, and a fresh machine's run trains only what is missing."""
    _, _, env, calls = folders
    env = {**env, "ROOT": str(tmp_path / "h"), "HELDOUT": "area1-DJF:2006", "STAGES": "train",
           "FAIL_KIND": "ablation"}
    run = lambda e: subprocess.run(["bash", str(ROOT / "scripts/heldout_evidence.sh")],  # noqa: E731
                                   env=e, capture_output=True, text=True, timeout=120)
    assert run(env).returncode != 0
    kept = sorted(p.name for p in Path(env["KEEP"]).glob("*.safetensors"))
    assert kept == ["area1-DJF-diffusion.safetensors", "area1-DJF-encoder.safetensors",
                    "area1-DJF-unet.safetensors"]
    calls.unlink()
    fresh = {**env, "ROOT": str(tmp_path / "fresh"), "FAIL_KIND": "none"}  # a new machine
    assert run(fresh).returncode == 0
    trains = [c.split()[1] for c in calls.read_text().splitlines() if c.startswith("train ")]
    assert trains == ["ablation", "transfer"]


def test_heldout_evidence_trains_on_its_own_encoder_and_split_and_resumes(folders, tmp_path):
    """Each held-out pair gets its own encoder and models, all trained with its year held
    out and the encoder beside them; a second run trains nothing and scores all days."""
    _, _, env, calls = folders
    env = {**env, "ROOT": str(tmp_path / "heldout"), "HELDOUT": "area0-JJA:2006 area1-DJF:2006"}
    run = lambda: subprocess.run(["bash", str(ROOT / "scripts/heldout_evidence.sh")],  # noqa: E731
                                 env=env, capture_output=True, text=True, timeout=120)
    r = run()
    assert r.returncode == 0, r.stderr
    lines = calls.read_text().splitlines()
    trains = [c for c in lines if c.startswith("train ")]
    assert len(trains) == 2 * 5  # encoder + 4 models per pair
    w = tmp_path / "heldout" / "weights"
    for c in trains:
        year = "2006"
        assert f"--heldout-year {year}" in c and f"--out {w}" in c
        if not c.startswith("train encoder"):
            region, season = c.split("--region ")[1].split()[0], c.split("--season ")[1].split()[0]
            assert f"--encoder {w}/{region}-{season}-encoder.safetensors" in c
    # one pair at a time, trained then scored: each pair its own report
    evs = [c for c in lines if c.startswith("evaluate")]
    assert [c.split("--out ")[1].split()[0] for c in evs] == [
        f"{tmp_path}/heldout/report-{p}" for p in ("area0-JJA", "area1-DJF")]
    assert lines.index(evs[0]) < min(i for i, c in enumerate(lines) if "area1" in c)
    for ev, pair in zip(evs, ("area0-JJA", "area1-DJF"), strict=True):
        assert "--days 0" in ev and ev.count(f"{pair}-") == 4 and ev.count(".safetensors") == 4
        # evidence.sh's cache: the shipped report scores them without generating again
        assert f"--cache {env['CACHE']}/fields" in ev
    calls.write_text("")
    assert run().returncode == 0
    assert not [c for c in calls.read_text().splitlines() if c.startswith("train")]
    # every finished model is kept (KEEP: the repository's copy), and a fresh machine
    # starts from the kept ones: nothing to train again
    kept = sorted(f.name for f in Path(env["KEEP"]).glob("*.safetensors"))
    assert kept == sorted(f.name for f in w.glob("*.safetensors")) and len(kept) == 10
    calls.write_text("")
    fresh = {**env, "ROOT": str(tmp_path / "fresh")}
    assert subprocess.run(["bash", str(ROOT / "scripts/heldout_evidence.sh")], env=fresh,
                          capture_output=True, text=True, timeout=120).returncode == 0
    assert not [c for c in calls.read_text().splitlines() if c.startswith("train")]
