"""DDP under torchrun (gloo, 2 CPU processes) follows single-process training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from finescale.app.cli import main
from finescale.model.config import get_preset, override
from finescale.model.training import Cancelled, TrainSpec, train_downscaler

ROOT = Path(__file__).resolve().parents[2]


def _train(stage: str, data: Path, out: Path, *extra: str, procs: int = 1) -> Path:
    args = ["train", stage, "--region", "area1", "--season", "JJA", "--preset", "test",
            "--data", str(data), "--out", str(out), "--device", "cpu", *extra]
    if procs == 1:
        assert main(args) == 0
    else:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={procs}", "-m", "finescale.app.cli", *args, "--distributed"]
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.count("wrote ") == 1  # only rank 0 reports (and writes)
    return out / f"area1-JJA-{stage}.safetensors"


def _close(a: Path, b: Path, lr: float = 5e-4, steps: int = 3) -> None:
    """Nearly every weight agrees to float precision; none differs by more than Adam can move
    a weight in ``steps`` steps. (Biases before a GroupNorm have a zero gradient in exact
    arithmetic; Adam normalises their round-off noise into steps of ±lr.)"""
    wa, wb = load_file(a), load_file(b)
    assert wa.keys() == wb.keys()
    diff = torch.cat([(wa[k].float() - wb[k].float()).abs().ravel() for k in wa])
    assert diff.max() <= lr * steps * 1.01
    assert (diff < 1e-5).float().mean() > 0.95


@pytest.mark.slow
def test_ddp_matches_single_process(small_dir: Path, tmp_path: Path):
    enc1 = _train("encoder", small_dir, tmp_path / "one")
    enc2 = _train("encoder", small_dir, tmp_path / "two", procs=2)
    _close(enc1, enc2)
    assert not list((tmp_path / "two").glob(".*resume*"))  # rank 0 cleaned up
    # stage 2 under torchrun (sharded patches, averaged gradients): the resume test below


@pytest.mark.slow
def test_ddp_resumes_from_the_single_writer_state(small, small_dir: Path, tmp_path: Path):
    """An interrupted run restarted under torchrun continues from the saved epoch on every
    rank, and ends where a single process resumed from the same state ends."""
    preset = get_preset("test")
    preset = override(preset, encoder=override(preset.encoder, epochs=2),
                      downscaler=override(preset.downscaler, epochs=2))  # as `--epochs 2`
    for d in ("one", "two"):
        cancel = threading.Event()
        spec = TrainSpec("unet", "area1", "JJA", preset, tmp_path / d, torch.device("cpu"))
        with pytest.raises(Cancelled):
            train_downscaler(small, spec, progress=False, cancel=cancel,
                             callback=lambda ev, c=cancel: ev["event"] == "epoch" and c.set())
        assert list((tmp_path / d).glob(".area1-JJA-unet.resume.safetensors"))
    u1 = _train("unet", small_dir, tmp_path / "one", "--epochs", "2")
    u2 = _train("unet", small_dir, tmp_path / "two", "--epochs", "2", procs=2)
    h1, h2 = (json.loads(u.with_suffix(".json").read_text())["history"] for u in (u1, u2))
    assert [h["epoch"] for h in h2] == [1, 2]  # resumed, not restarted
    assert h2[0] == h1[0]  # epoch 1 is the saved one, read by every rank
    _close(u1, u2)
    assert not list((tmp_path / "two").glob(".*resume*"))


def test_distributed_without_torchrun_is_refused(small_dir: Path, tmp_path: Path, capsys):
    for k in ("RANK", "WORLD_SIZE"):
        os.environ.pop(k, None)
    code = main(["train", "encoder", "--region", "area1", "--season", "JJA", "--preset", "test",
                 "--data", str(small_dir), "--out", str(tmp_path), "--distributed"])
    assert code == 2 and "torchrun" in capsys.readouterr().err
