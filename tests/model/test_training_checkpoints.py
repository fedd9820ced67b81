"""Training smoke tests, checkpoints (round trip, resume, refusal) and generation."""

from __future__ import annotations

import json
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from finescale.data.errors import FinescaleError
from finescale.model.checkpoints import manifest_path, read_checkpoint, save_checkpoint
from finescale.model.config import SamplerConfig, get_preset, override
from finescale.model.device import resolve_device
from finescale.model.generation import generate, load_model, write_generated
from finescale.model.training import Cancelled, TrainSpec, load_encoder, train_downscaler

KINDS = ("diffusion", "ablation", "unet", "transfer", "vae")


def test_every_stage_trains_and_writes_a_manifest(ckpts):
    for kind, path in ckpts.items():
        m = json.loads(manifest_path(path).read_text())
        assert m["kind"] == kind and m["region"] == "area1" and m["season"] == "JJA"
        assert m["history"] and np.isfinite(m["history"][-1]["val_loss"])
        assert m["transform"]["kind"] == "log10-minmax" and m["data_fingerprint"]
        assert m["versions"]["torch"] and m["training"]["device"] == "cpu"
    assert not list(ckpts["encoder"].parent.glob(".*resume*"))  # cleaned after success


def test_training_noise_levels_follow_the_data_scale(ckpts):
    """The diffusion's mean log training σ is EDM's −1.2 moved by ln(σ_data / 0.5) (EDM's
    own −1.2 at our σ_data ≈ 0.05 leaves the finest texture untrained), recorded as used."""
    import math

    from finescale.model.config import DownscalerConfig

    cfg = json.loads(manifest_path(ckpts["diffusion"]).read_text())["downscaler_config"]
    assert cfg["p_mean"] == pytest.approx(-1.2 + math.log(cfg["sigma_data"] / 0.5))
    assert DownscalerConfig(sigma_data=0.5).noise_mean == pytest.approx(-1.2)
    assert DownscalerConfig(sigma_data=0.05, p_mean=-1.2).noise_mean == -1.2  # as asked


def test_encoder_is_frozen_and_unchanged_by_stage_2(ckpts, small):
    enc, _ = load_encoder(ckpts["encoder"], region="area1", season="JJA")
    assert not any(p.requires_grad for p in enc.parameters())
    tensors, _ = read_checkpoint(ckpts["diffusion"])
    for k, v in enc.state_dict().items():
        assert torch.equal(tensors[f"encoder.{k}"], v), k


def test_checkpoint_round_trip(tmp_path: Path):
    t = {"w": torch.randn(3, 4), "b": torch.arange(3)}
    p = save_checkpoint(tmp_path / "x.safetensors", t, {"kind": "unet"})
    back, m = read_checkpoint(p)
    assert torch.equal(back["w"], t["w"]) and torch.equal(back["b"], t["b"])
    half = save_checkpoint(tmp_path / "h.safetensors", t, {"kind": "unet"}, half=True)
    back, m = read_checkpoint(half)
    assert m["storage"] == "float16" and back["w"].dtype == torch.float32
    assert torch.allclose(back["w"], t["w"], atol=1e-2)


def test_refuses_bad_checkpoints(ckpts, small, tmp_path: Path):
    good = ckpts["diffusion"]
    # truncated
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[:1000])
    manifest_path(cut).write_text(manifest_path(good).read_text())
    with pytest.raises(FinescaleError, match=r"cut\.safetensors"):
        load_model(cut, small)
    # tampered: same size, one byte changed
    bad = tmp_path / "bad.safetensors"
    raw = bytearray(good.read_bytes())
    raw[-10] ^= 0xFF
    bad.write_bytes(bytes(raw))
    manifest_path(bad).write_text(manifest_path(good).read_text())
    with pytest.raises(FinescaleError, match="does not match its manifest"):
        load_model(bad, small)
    # a pickle is never unpickled
    pk = tmp_path / "evil.safetensors"
    pk.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(FinescaleError, match="pickle"):
        load_model(pk, small)
    # a broken manifest: one error naming it
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(good.read_bytes())
    manifest_path(broken).write_text('{"format": ')
    with pytest.raises(FinescaleError, match=r"broken\.json is not valid JSON"):
        load_model(broken, small)
    # wrong region / season / kind
    with pytest.raises(FinescaleError, match="expected season 'DJF'"):
        read_checkpoint(good, season="DJF")
    with pytest.raises(FinescaleError, match="encoder"):
        load_model(ckpts["encoder"], small)
    # another architecture: manifest edited to other channel widths
    arch = tmp_path / "arch.safetensors"
    arch.write_bytes(good.read_bytes())
    m = json.loads(manifest_path(good).read_text())
    m["downscaler_config"]["channels"] = [16, 16, 32]
    manifest_path(arch).write_text(json.dumps(m))
    with pytest.raises(FinescaleError, match="does not fit the architecture"):
        load_model(arch, small)


def test_cuda_request_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(FinescaleError, match="CUDA is not available"):
        resolve_device("cuda")


def test_resume_after_interruption(small, ckpts, tmp_path: Path, device):
    preset = get_preset("test")
    preset = override(preset, downscaler=override(preset.downscaler, epochs=3,
                                                  steps_per_epoch=2))
    spec = TrainSpec("unet", "area1", "JJA", preset, tmp_path, device)
    cancel = threading.Event()
    seen = []

    def cb(ev: dict) -> None:
        if ev["event"] == "epoch":
            seen.append(ev["epoch"])
            if ev["epoch"] == 1:
                cancel.set()

    with pytest.raises(Cancelled):
        train_downscaler(small, spec, progress=False, callback=cb, cancel=cancel)
    resume = tmp_path / ".area1-JJA-unet.resume.safetensors"
    state = json.loads(manifest_path(resume).read_text())
    assert state["epoch"] == 1 and state["seconds"] > 0
    state["seconds"] = 1000.0  # as if the first run had taken that long
    manifest_path(resume).write_text(json.dumps(state))
    seen.clear()
    path = train_downscaler(small, spec, progress=False, callback=cb)
    assert seen == [2, 3]  # continued from epoch 1, not from scratch
    m = json.loads(manifest_path(path).read_text())
    assert [h["epoch"] for h in m["history"]] == [1, 2, 3]
    assert 1000 < m["training"]["seconds"] < 1000 + 600  # both runs' time, not the last's


def test_time_budget_stops_after_the_epoch_that_crosses_it(small, tmp_path: Path, device):
    preset = get_preset("test")
    preset = override(preset, downscaler=override(preset.downscaler, epochs=4,
                                                  steps_per_epoch=2))
    spec = TrainSpec("unet", "area1", "JJA", preset, tmp_path, device, max_seconds=1e-6)
    path = train_downscaler(small, spec, progress=False)
    hist = json.loads(manifest_path(path).read_text())["history"]
    assert [h["epoch"] for h in hist] == [1] and "time budget" in hist[0]["stopped"]
    assert not list(tmp_path.glob(".*resume*"))  # a finished run leaves no resume state


@pytest.mark.parametrize("kind", KINDS)
def test_generate_every_kind(ckpts, small, kind):
    """Each kind generates CF fields of the days asked for, from those days' inputs: its
    days differ from each other, an ensemble's members differ and a deterministic model's
    do not. Diffusion and its ablation, already after the test preset's few steps, carry the
    day's coarse signal: their ensemble mean explains the day's truth (R² ≥ 0.45) far better
    than the truth of a day ten weeks away (a model fed another day's input fails). The
    others are scored the same way but need more than a few steps to beat interpolation;
    the shipped models' test-day scores are in docs/evidence.md."""
    from finescale.data.scores import r2_pearson
    from finescale.model.kinds import kind as get_kind

    out = generate(small, [ckpts[kind]], "2006-06-10", "2006-06-12", members=2, progress=False,
                   sampler=SamplerConfig(steps=3))
    v = out["DUEXTTAU"]
    assert v.dims == ("member", "time", "lat", "lon") and v.shape == (2, 3, 64, 64)
    assert np.isfinite(v.values).all() and (v.values > 0).all()
    assert out["DUEXTTAU_truth"].notnull().all()
    assert out.attrs["model_kind"] == kind
    g = np.log10(v.values)
    assert not np.allclose(g[:, 0], g[:, 2])  # the days' inputs, not one field
    assert np.allclose(g[0], g[1]) != get_kind(kind).stochastic
    mean, truth = g.mean(0), np.log10(out["DUEXTTAU_truth"].values)
    far = np.log10(small.region("area1").fine.sel(time="2006-08-20").values)
    right = np.array([r2_pearson(mean[i], truth[i]) for i in range(3)])
    wrong = np.array([r2_pearson(mean[i], far) for i in range(3)])
    assert np.isfinite(right).all() and np.isfinite(wrong).all()
    if kind in ("diffusion", "ablation"):
        assert right.mean() >= 0.45 and (right > wrong + 0.2).all(), (right, wrong)


def test_sampling_is_reproducible_by_seed(ckpts, small):
    kw = dict(members=2, progress=False, sampler=SamplerConfig(steps=3))
    a = generate(small, [ckpts["diffusion"]], "2006-06-10", "2006-06-11", seed=1, **kw)
    b = generate(small, [ckpts["diffusion"]], "2006-06-10", "2006-06-11", seed=1, **kw)
    c = generate(small, [ckpts["diffusion"]], "2006-06-10", "2006-06-11", seed=2, **kw)
    np.testing.assert_array_equal(a.DUEXTTAU.values, b.DUEXTTAU.values)
    assert not np.allclose(a.DUEXTTAU.values, c.DUEXTTAU.values)
    assert not np.allclose(a.DUEXTTAU.values[0], a.DUEXTTAU.values[1])  # members differ


def test_bf16_sampling_is_reproducible_and_close_to_fp32(ckpts, small):
    kw = dict(members=2, progress=False, seed=1)
    day = ("2006-06-10", "2006-06-10")
    f32 = generate(small, [ckpts["diffusion"]], *day, sampler=SamplerConfig(steps=3), **kw)
    bf = SamplerConfig(steps=3, precision="bf16")
    a = generate(small, [ckpts["diffusion"]], *day, sampler=bf, **kw)
    b = generate(small, [ckpts["diffusion"]], *day, sampler=bf, **kw)
    np.testing.assert_array_equal(a.DUEXTTAU.values, b.DUEXTTAU.values)
    assert a.attrs["precision"] == "bf16" and f32.attrs["precision"] == "fp32"
    assert a.DUEXTTAU.dtype == f32.DUEXTTAU.dtype
    la, lf = np.log10(a.DUEXTTAU.values), np.log10(f32.DUEXTTAU.values)
    assert not np.array_equal(la, lf)  # bf16 arithmetic really ran
    assert np.abs(la - lf).mean() < 0.05 * lf.std()  # same fields, within rounding
    with pytest.raises(FinescaleError, match="precision must be"):
        SamplerConfig(precision="fp16")


def test_windowed_denoiser_runs_on_training_patches(ckpts, small):
    """``windows`` (the default): the fast sampler's denoiser sees patch-sized windows (as in
    training); ``windows=False`` runs it on the whole map."""
    kw = dict(members=2, progress=False, seed=1)
    day = ("2006-06-10", "2006-06-10")
    whole = generate(small, [ckpts["diffusion"]], *day,
                     sampler=SamplerConfig(steps=3, windows=False), **kw)
    win = SamplerConfig(steps=3)
    assert win.windows
    a = generate(small, [ckpts["diffusion"]], *day, sampler=win, **kw)
    b = generate(small, [ckpts["diffusion"]], *day, sampler=win, **kw)
    assert max(a.sizes["lat"], a.sizes["lon"]) > 16  # larger than the test preset's patch
    np.testing.assert_array_equal(a.DUEXTTAU.values, b.DUEXTTAU.values)
    assert np.isfinite(a.DUEXTTAU.values).all()
    assert not np.allclose(a.DUEXTTAU.values, whole.DUEXTTAU.values)
    assert a.attrs["sampler_windows"] == 1 and whole.attrs["sampler_windows"] == 0
    # abutting cores (the default) and overlapping ones: two window grids, one sampler
    lap = generate(small, [ckpts["diffusion"]], *day,
                   sampler=SamplerConfig(steps=3, window_overlap=0.5), **kw)
    assert lap.attrs["sampler_window_overlap"] == 0.5 and a.attrs["sampler_window_overlap"] == 0
    assert not np.array_equal(lap.DUEXTTAU.values, a.DUEXTTAU.values)
    assert SamplerConfig().window_grid(48) == (32, 8)  # 48-px patches: halo 8, cores abut
    assert SamplerConfig(window_overlap=0.25).window_grid(48) == (24, 8)
    with pytest.raises(FinescaleError, match="window overlap"):
        SamplerConfig(window_overlap=1.0)


def test_paper_sampler_runs_through_generate(ckpts, small):
    """The paper's protocol end to end on a trained checkpoint (its sampling is checked
    against the fast sampler on an oracle in test_networks_samplers): recorded as such,
    reproducible, and not the fast sampler's field."""
    paper = SamplerConfig(protocol="paper", steps=2, tile_stride=8)
    kw = dict(members=1, progress=False, seed=1)
    day = ("2006-06-10", "2006-06-10")
    a = generate(small, [ckpts["diffusion"]], *day, sampler=paper, **kw)
    b = generate(small, [ckpts["diffusion"]], *day, sampler=paper, **kw)
    fast = generate(small, [ckpts["diffusion"]], *day, sampler=SamplerConfig(steps=2), **kw)
    assert a.attrs["sampler"] == "paper" and a.attrs["sampler_steps"] == 2
    assert np.isfinite(a.DUEXTTAU.values).all()
    np.testing.assert_array_equal(a.DUEXTTAU.values, b.DUEXTTAU.values)
    assert not np.allclose(a.DUEXTTAU.values, fast.DUEXTTAU.values)


def test_a_season_generated_from_its_first_days_without_the_season_before(ckpts, small,
                                                                          tmp_path: Path):
    """Days before the fine record that start a season: the spin-up days fall in the season
    before, whose model was not given; they run with the first day's model and are
    discarded (a KeyError traceback before)."""
    import shutil

    djf = tmp_path / "area1-DJF-diffusion.safetensors"
    shutil.copy(ckpts["diffusion"], djf)
    djf.with_suffix(".json").write_text(
        ckpts["diffusion"].with_suffix(".json").read_text().replace('"JJA"', '"DJF"'))
    out = generate(small, [djf], "2004-12-02", "2004-12-03", members=1, progress=False,
                   sampler=SamplerConfig(steps=2), spinup=3)  # spin-up 29 Nov – 1 Dec
    assert out.attrs["spinup_days"] == 3 and out.sizes["time"] == 2
    assert np.isfinite(out.DUEXTTAU.values).all() and out.DUEXTTAU_truth.isnull().all()


def test_autoregressive_rollout_beyond_the_fine_record(ckpts, small, tmp_path: Path):
    """Days before the fine record: history starts from coarse fields, spin-up, no truth."""
    out = generate(small, [ckpts["diffusion"]], "2004-07-01", "2004-07-04", members=1,
                   progress=False, sampler=SamplerConfig(steps=2), spinup=3)
    assert out.DUEXTTAU_truth.isnull().all() and np.isfinite(out.DUEXTTAU.values).all()
    assert out.attrs["spinup_days"] == 3
    # strict vs truth-fed history differ inside the fine record
    kw = dict(members=1, progress=False, sampler=SamplerConfig(steps=2), seed=3)
    s = generate(small, [ckpts["transfer"]], "2006-06-10", "2006-06-14", strict=True, **kw)
    t = generate(small, [ckpts["transfer"]], "2006-06-10", "2006-06-14", strict=False, **kw)
    np.testing.assert_allclose(s.DUEXTTAU.values[:, 0], t.DUEXTTAU.values[:, 0])
    assert not np.allclose(s.DUEXTTAU.values[:, -1], t.DUEXTTAU.values[:, -1])
    p = write_generated(s, tmp_path / "gen.nc")
    import xarray as xr

    back = xr.open_dataset(p, engine="h5netcdf")
    assert back.DUEXTTAU.dims == ("member", "time", "lat", "lon")
    assert back.attrs["model_kind"] == "transfer"


def test_generation_bad_input(ckpts, small):
    with pytest.raises(FinescaleError, match="members must be >= 1"):
        generate(small, [ckpts["diffusion"]], "2006-06-10", "2006-06-10", members=0)
    with pytest.raises(FinescaleError, match="no coarse field on 2030-06-01"):
        generate(small, [ckpts["diffusion"]], "2030-06-01", "2030-06-02", progress=False)
    with pytest.raises(FinescaleError, match="no checkpoint for season"):
        generate(small, [ckpts["diffusion"]], "2006-01-10", "2006-01-11", progress=False)
    with pytest.raises(FinescaleError, match="not area0"):
        generate(small, [ckpts["diffusion"]], "2006-06-10", "2006-06-10", region="area0")


def test_nan_input_is_refused(small, ckpts, device, tmp_path):
    from finescale.data.layout import RegionData
    from finescale.model.datasets import season_data

    reg = small.region("area1")
    fine = reg.fine.load().copy()
    fine[5, 3, 3] = np.nan
    bad = RegionData("area1", reg.coarse, fine, reg.static)
    with pytest.raises(FinescaleError, match="NaN"):
        season_data(bad, "JJA")


def test_fingerprint_ignores_generation_time(small):
    import copy

    from finescale.model.datasets import fingerprint

    m = copy.deepcopy(small.manifest)
    m["generator"]["seconds"] = 999.0  # a fresh clone regenerates the data at another speed
    assert fingerprint(m, "area1") == fingerprint(small.manifest, "area1")
    m["generator"]["config"]["seed"] = 1
    assert fingerprint(m, "area1") != fingerprint(small.manifest, "area1")


def test_fingerprint_ignores_the_other_generated_regions(small, ckpts, tmp_path: Path):
    """`prepare --regions area1` writes area1's files as a full prepare does: its models
    load; a checkpoint carrying the earlier identity (region list included) loads too."""
    import copy
    import shutil

    from finescale.model.datasets import fingerprint, fingerprints

    alone = copy.deepcopy(small.manifest)
    alone["generator"]["config"]["regions"] = ["area1"]
    assert fingerprint(alone, "area1") == fingerprint(small.manifest, "area1")
    legacy = fingerprint(small.manifest, "area1", legacy=True)
    assert legacy != fingerprint(small.manifest, "area1")
    old = tmp_path / "old.safetensors"
    shutil.copy(ckpts["unet"], old)
    m = json.loads(manifest_path(ckpts["unet"]).read_text())
    manifest_path(old).write_text(json.dumps({**m, "data_fingerprint": legacy}))
    read_checkpoint(old, fingerprint=fingerprints(small.manifest, "area1"))
    manifest_path(old).write_text(json.dumps({**m, "data_fingerprint": "0" * 16}))
    with pytest.raises(FinescaleError, match="trained on other data"):
        read_checkpoint(old, fingerprint=fingerprints(small.manifest, "area1"))


def test_members_sharing_the_true_history_encode_it_once_per_day(ckpts, small, monkeypatch):
    """While every member's history is the truth (fed back, or before the first generated
    day) the frozen encoder runs on one row; once members' own days enter it, on each."""
    from finescale.model.networks import TransferEncoder

    rows: list[int] = []
    features = TransferEncoder.features

    def counting(self, hist, *a, **k):
        rows.append(hist.shape[0])
        return features(self, hist, *a, **k)

    monkeypatch.setattr(TransferEncoder, "features", counting)
    kw = dict(members=3, progress=False, sampler=SamplerConfig(steps=2), seed=3)
    fed = generate(small, [ckpts["diffusion"]], "2006-06-10", "2006-06-12", strict=False, **kw)
    assert rows == [1, 1, 1]
    rows.clear()
    generate(small, [ckpts["diffusion"]], "2006-06-10", "2006-06-12", strict=True, **kw)
    assert rows == [1, 3, 3]
    members = fed.DUEXTTAU.values[:, -1]
    assert np.isfinite(members).all() and not np.allclose(members[0], members[1])
