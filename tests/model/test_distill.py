"""Consistency distillation: a student of a diffusion checkpoint, its sampler and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.model.checkpoints import read_checkpoint, save_checkpoint
from finescale.model.config import SamplerConfig, get_preset
from finescale.model.distill import consistency_loss, distill
from finescale.model.generation import generate
from finescale.model.inference import load_model
from finescale.model.samplers import heun_step, karras_sigmas, sample_heun
from finescale.model.training import TrainSpec
from tests.conftest import TINY_DISTILL as TINY

DAYS = ("2006-07-01", "2006-07-01")


def _spec(out: Path, season: str = "JJA", seed: int = 0) -> TrainSpec:
    return TrainSpec("distilled", "area1", season, get_preset("test"), out,
                     torch.device("cpu"), seed=seed)


def test_the_student_records_its_teacher_and_its_two_call_schedule(student, ckpts):
    m = json.loads(student.with_suffix(".json").read_text())
    teacher = json.loads(ckpts["diffusion"].with_suffix(".json").read_text())
    assert m["kind"] == "distilled"
    assert m["teacher"]["weights_sha256"] == teacher["weights_sha256"]
    assert m["encoder"]["weights_sha256"] == teacher["encoder"]["weights_sha256"]
    sig = m["downscaler_config"]["student_sigmas"]
    sd = teacher["downscaler_config"]["sigma_data"]
    assert sig[0] == SamplerConfig.sigma_max and len(sig) == 2
    crps = m["distillation"]["validation_crps"]["two_calls_by_second_sigma"]
    assert sorted(float(k) for k in crps) == pytest.approx([0.5 * sd, 2.0 * sd], abs=1e-5)
    assert sig[1] == pytest.approx(float(min(crps, key=crps.get)))  # the best on validation
    t, _ = read_checkpoint(student)
    enc, _ = read_checkpoint(ckpts["diffusion"])
    for k in (k for k in enc if k.startswith("encoder.")):  # the teacher's frozen encoder
        assert torch.equal(t[k], enc[k])


def test_the_student_samples_in_one_and_two_calls_reproducibly(student, small):
    lm = load_model(student, small)
    out = {}
    for calls in (1, 2):
        s = SamplerConfig(calls=calls)
        a = generate(small, [lm], *DAYS, members=2, sampler=s, seed=3, progress=False)
        b = generate(small, [lm], *DAYS, members=2, sampler=s, seed=3, progress=False)
        xr.testing.assert_identical(a, b)  # same seed, same maps
        v = a[small.variable]
        assert v.sizes["member"] == 2 and bool(v.notnull().all()) and bool((v > 0).all())
        out[calls] = v
    assert not bool((out[1] == out[2]).all())  # the second call does something
    c = generate(small, [lm], *DAYS, members=2, sampler=SamplerConfig(calls=2), seed=4,
                 progress=False)
    assert not bool((c[small.variable] == out[2]).all())  # another seed, other maps


def test_a_call_count_the_student_was_not_trained_for_is_refused(student, small):
    lm = load_model(student, small)
    with pytest.raises(FinescaleError, match="1 to 2 network calls; got 3"):
        generate(small, [lm], *DAYS, members=1, sampler=SamplerConfig(calls=3), progress=False)


def test_distillation_is_deterministic_by_seed(student, ckpts, small, tmp_path):
    again = distill(small, _spec(tmp_path), ckpts["diffusion"], TINY, progress=False)
    a, _ = read_checkpoint(student)
    b, _ = read_checkpoint(again)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_teacher_that_is_not_the_pairs_diffusion_model_is_refused(ckpts, small, tmp_path):
    with pytest.raises(FinescaleError, match="is for area1 JJA, not area1 DJF"):
        distill(small, _spec(tmp_path, "DJF"), ckpts["diffusion"], TINY, progress=False)
    with pytest.raises(FinescaleError, match="unet checkpoint; a distilled model's teacher"):
        distill(small, _spec(tmp_path), ckpts["unet"], TINY, progress=False)


def test_a_student_without_its_teachers_encoder_is_refused(student, small, tmp_path):
    t, m = read_checkpoint(student)
    bad = tmp_path / "area1-JJA-distilled.safetensors"
    save_checkpoint(bad, {k: v for k, v in t.items() if not k.startswith("encoder.")},
                    {k: v for k, v in m.items() if k not in ("weights_sha256", "storage")})
    with pytest.raises(FinescaleError, match=r"does not fit the architecture.*missing"):
        load_model(bad, small)


def test_heun_step_matches_the_teachers_sampler_and_the_loss_is_in_sigma_data_units():
    torch.manual_seed(0)
    net = torch.nn.Conv2d(2, 1, 3, padding=1)

    def den(x, s, c):  # any denoiser; the step must equal one step of EDM's Heun sampler
        return net(torch.cat([x, c], 1)) / (1 + s.reshape(-1, 1, 1, 1))

    x, c = torch.randn(3, 1, 8, 8), torch.randn(3, 1, 8, 8)
    sig = karras_sigmas(4, 0.002, 10.0)[:-1]
    with torch.no_grad():  # each sample its own pair of levels, as in distillation
        one = heun_step(den, x * sig[:3, None, None, None], sig[:3], sig[1:4], c)
        ref = torch.cat([sample_heun(den, x[i: i + 1], c[i: i + 1], sig[i: i + 2])
                         for i in range(3)])
    assert torch.allclose(one, ref, atol=1e-5)

    def zero(x, s, c):
        return torch.zeros_like(x)

    def off(x, s, c):  # 0.1 away from the target everywhere
        return torch.full_like(x, 0.1)

    x0, c0 = torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8)
    assert float(consistency_loss(zero, zero, zero, x0, c0, sig, 0.05)) == 0.0
    assert float(consistency_loss(off, zero, zero, x0, c0, sig, 0.05)) == pytest.approx(4.0)


def test_train_distilled_from_the_cli(ckpts, small_dir, tmp_path, capsys):
    from finescale.app.cli import main

    rc = main(["train", "distilled", "--region", "area1", "--season", "JJA", "--preset", "test",
               "--data", str(small_dir), "--out", str(tmp_path), "--teacher",
               str(ckpts["diffusion"]), "--epochs", "1", "--steps", "1", "--batch", "2"])
    assert rc in (0, None)
    m = json.loads((tmp_path / "area1-JJA-distilled.json").read_text())
    assert m["history"][0]["epoch"] == 1 and m["distillation"]["batch"] == 2
    rc = main(["train", "distilled", "--region", "area1", "--season", "JJA", "--preset", "test",
               "--data", str(small_dir), "--out", str(tmp_path), "--teacher",
               str(ckpts["unet"])])
    assert rc == 2
    assert "teacher must be a diffusion model" in capsys.readouterr().err
    assert pd.Timestamp(m["training"]["finished"])  # a complete manifest


def test_the_student_uses_its_own_windows_not_the_teachers(student, small):
    import dataclasses

    lm = load_model(student, small)
    assert (lm.cfg.student_overlap, lm.cfg.student_halo) == (0.25, 2)

    def day(sampler, lm=lm):
        return generate(small, [lm], *DAYS, members=1, sampler=sampler, seed=1,
                        progress=False)[small.variable]

    base = day(SamplerConfig())
    xr.testing.assert_identical(base, day(SamplerConfig(window_overlap=0.25)))
    abut = dataclasses.replace(lm, cfg=dataclasses.replace(lm.cfg, student_overlap=0.0))
    assert not bool((day(SamplerConfig(), abut) == base).all())
    halo4 = dataclasses.replace(lm, cfg=dataclasses.replace(lm.cfg, student_halo=4))
    assert not bool((day(SamplerConfig(), halo4) == base).all())
    with pytest.raises(FinescaleError, match="student_halo must be in"):
        dataclasses.replace(lm.cfg, student_halo=8)  # 2 × 8 px of a 16-px patch: no core
