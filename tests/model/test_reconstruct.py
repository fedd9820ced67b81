"""``finescale reconstruct``: a record in slabs, the same whoever made it, resumable."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from finescale.app.cli import main
from finescale.data.info import describe
from finescale.data.joins import join_statistics
from finescale.data.record import RecordLayout, done_slabs, open_record, read_layout
from finescale.model.config import get_preset
from finescale.model.training import TrainSpec, train_downscaler, train_encoder

ROOT = Path(__file__).resolve().parents[2]
FINESCALE = str(Path(sys.executable).parent / "finescale")
# JJA → SON: the models switch on 1 September, each member's history carried across
PERIOD = ["--start", "2005-08-28", "--end", "2005-09-05"]
LAYOUT = ["--members", "2", "--segment-days", "3", "--spinup", "2", "--tile", "32"]
INDEPENDENT = "--no-chain"  # segments in parallel; the chained default is tested below


@pytest.fixture(scope="module")
def record_ckpts(small, ckpts, device, tmp_path_factory) -> Path:
    """area1 diffusion models for JJA (the session's) and SON (trained here)."""
    out = tmp_path_factory.mktemp("record-ckpt")
    for p in (ckpts["diffusion"], ckpts["encoder"]):
        for f in (p, p.with_suffix(".json")):
            shutil.copy(f, out / f.name)
    preset = get_preset("test")
    enc = train_encoder(small, TrainSpec("encoder", "area1", "SON", preset, out, device),
                        progress=False)
    train_downscaler(small, TrainSpec("diffusion", "area1", "SON", preset, out, device,
                                      encoder_path=enc), progress=False)
    return out


def _args(small_dir: Path, ckpt: Path, out: Path, *extra: str) -> list[str]:
    # eager: compiling (the default in fp32, i.e. on a CPU without native bf16) costs a
    # minute per process and is tested on its own below
    return ["reconstruct", "--data", str(small_dir), "--checkpoints", str(ckpt), "--region",
            "area1", *PERIOD, *LAYOUT, "--device", "cpu", "--compile", "off", "--out",
            str(out), *extra]


@pytest.fixture(scope="module")
def reference(small_dir, record_ckpts, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "one.zarr"
    assert main(_args(small_dir, record_ckpts, out, INDEPENDENT)) == 0
    return out


ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def _kill_after(args: list[str], out: Path, slabs: int) -> None:
    """Run the CLI and SIGKILL it once ``slabs`` slabs of ``out`` are marked done."""
    proc = subprocess.Popen([FINESCALE, *args], env=ONE_THREAD, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and proc.poll() is None:
        if out.exists() and done_slabs(out).sum() >= slabs:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _torchrun(args: list[str]) -> None:
    """The CLI under ``torchrun --nproc_per_node 2`` (dates spelled as torchrun allows)."""
    args = [{"--start": "--start-date", "--end": "--end-date"}.get(a, a) for a in args]
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node=2", "-m", "finescale.app.cli", *args, "--distributed"],
                       cwd=ROOT, env=ONE_THREAD, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("wrote ") == 1  # rank 0 alone reports


def _same(a: Path, b: Path) -> None:
    x, y = xr.open_zarr(a), xr.open_zarr(b)
    for v in x.data_vars:
        np.testing.assert_array_equal(x[v].values, y[v].values, err_msg=v)


def test_record_layout_and_contents(reference, small):
    rec = open_record(reference)
    g = rec["DUEXTTAU"]
    assert g.dims == ("member", "time", "lat", "lon") and g.shape == (2, 9, 64, 64)
    assert g.encoding["chunks"] == (1, 3, 32, 32)  # a slab is whole chunks
    assert np.isfinite(g.values).all() and (g.values > 0).all()
    assert done_slabs(reference).all() and done_slabs(reference).shape == (3, 1)
    assert rec.attrs["Conventions"] == "CF-1.8" and rec["lat"].attrs["units"] == "degrees_north"
    truth = rec["DUEXTTAU_truth"].values
    fine = small.region("area1").fine.sel(time=rec["time"]).values
    np.testing.assert_allclose(truth, fine, rtol=1e-6)  # the fine record spans the period
    coarse = small.region("area1").coarse.sel(time=rec["time"]).values
    np.testing.assert_allclose(rec["DUEXTTAU_coarse"].values, coarse, rtol=1e-6)
    # members differ (their own noise and history); days differ
    assert not np.allclose(g.values[0], g.values[1])
    text = describe(reference)
    assert "3 of 3 complete" in text and "JJA, SON" in text


def test_two_torchrun_workers_make_the_same_store(reference, small_dir, record_ckpts,
                                                  tmp_path):
    out = tmp_path / "two.zarr"
    _torchrun(_args(small_dir, record_ckpts, out, INDEPENDENT))
    _same(reference, out)  # bit-identical: slabs and their seeds do not depend on workers


def test_sigkilled_run_resumes_to_the_same_store(reference, small_dir, record_ckpts,
                                                 tmp_path):
    out = tmp_path / "killed.zarr"
    _kill_after(_args(small_dir, record_ckpts, out, INDEPENDENT), out, slabs=1)
    done = done_slabs(out)
    assert 1 <= done.sum() < done.size, "the kill came too late to test a resume"
    assert "missing" in describe(out)
    assert main(_args(small_dir, record_ckpts, out, INDEPENDENT)) == 0
    _same(reference, out)


def test_bad_inputs_one_line_and_the_store_untouched(reference, small_dir, record_ckpts,
                                                     tmp_path, capsys):
    before = {p: p.stat().st_mtime_ns for p in reference.rglob("*")}
    cases = [
        (_args(small_dir, record_ckpts, reference, INDEPENDENT, "--seed", "1", "--compile",
               "on"), "other settings"),  # compiled or not, the refusal is its one line
        (_args(small_dir, record_ckpts, reference), "other settings"),  # chained this time
        (["reconstruct", "--data", str(small_dir), "--checkpoints", str(record_ckpts),
          "--region", "area1", "--start", "2005-11-25", "--end", "2005-12-05", "--out",
          str(tmp_path / "x.zarr")], "DJF"),
        (["reconstruct", "--data", str(small_dir), "--checkpoints", str(record_ckpts),
          "--region", "area1", "--start", "2009-06-01", "--end", "2009-06-05", "--out",
          str(tmp_path / "y.zarr")], "coarse record"),
        (_args(small_dir, record_ckpts, tmp_path / "z.zarr", "--members", "0"), "members"),
        (_args(small_dir, record_ckpts, Path("/proc/x.zarr")), "cannot write"),
        (_args(small_dir, record_ckpts, small_dir), "not a readable zarr"),
    ]
    for args, words in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert {p: p.stat().st_mtime_ns for p in reference.rglob("*")} == before
    assert not (tmp_path / "x.zarr").exists() and not (tmp_path / "y.zarr").exists()


def test_layout_cuts_slabs_from_settings_alone():
    lay = RecordLayout("2000-01-01", "2000-03-01", members=5, segment_days=30, member_block=2)
    assert lay.n_segments == 3 and lay.n_blocks == 3
    assert lay.segment(2) == slice(60, 61) and lay.members_of(2) == slice(4, 5)
    assert len(lay.slabs()) == 9


def _ar1(rng, m: int, t: int, n: int = 24) -> np.ndarray:
    z = np.empty((m, t, n, n))
    z[:, 0] = rng.normal(size=(m, n, n))
    for j in range(1, t):  # consecutive days alike
        z[:, j] = 0.9 * z[:, j - 1] + np.sqrt(1 - 0.81) * rng.normal(size=(m, n, n))
    return z


def test_join_statistics_see_a_seam():
    rng = np.random.default_rng(0)
    lat, lon = np.linspace(20, 24, 24), np.linspace(40, 44, 24)
    smooth = join_statistics(_ar1(rng, 2, 40), lat, lon, segment_days=8)
    assert smooth["change"]["p_value"] > 0.01 and abs(smooth["change"]["ratio"] - 1) < 0.2
    # each segment an independent run: the joins jump
    seam = np.concatenate([_ar1(rng, 2, 8) for _ in range(5)], axis=1)
    seams = join_statistics(seam, lat, lon, segment_days=8)
    assert seams["change"]["ratio"] > 1.5 and seams["change"]["p_value"] < 0.01
    assert seams["lag1"]["join_mean"] < 0.3 < smooth["lag1"]["join_mean"]


def test_chained_blocks_resume_and_do_not_depend_on_workers(small_dir, record_ckpts,
                                                            tmp_path):
    """--chain: each member block continues its own history across segments; two torchrun
    ranks (one block each) and one process make the same store, and a kill resumes."""
    args = ["--member-block", "1"]  # chained: the default
    one, two = tmp_path / "one.zarr", tmp_path / "two.zarr"
    _kill_after(_args(small_dir, record_ckpts, one, *args), one, slabs=2)
    assert 1 <= done_slabs(one).sum() < 6
    assert list((one / ".finescale-chain").glob("*.npy"))  # where each chain stands
    assert main(_args(small_dir, record_ckpts, one, *args)) == 0
    assert not (one / ".finescale-chain").exists()  # complete: the chain states are gone
    _torchrun(_args(small_dir, record_ckpts, two, *args))
    _same(one, two)
    rec = open_record(one)
    assert rec.attrs["finescale_settings"].count('"chain": true') == 1
    # no --member-block under torchrun: one block per rank, so both work; the same store
    three = tmp_path / "three.zarr"
    _torchrun(_args(small_dir, record_ckpts, three))
    assert read_layout(three).member_block == 1
    _same(one, three)
    assert main(_args(small_dir, record_ckpts, three)) == 0  # resumed alone: its own layout


def test_a_second_run_on_the_same_store_is_refused(reference, small_dir, record_ckpts,
                                                    capsys):
    from finescale.data.record import record_lock

    with record_lock(reference):  # a run in progress
        assert main(_args(small_dir, record_ckpts, reference, INDEPENDENT)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is being made by pid" in err[0], err
    assert main(_args(small_dir, record_ckpts, reference, INDEPENDENT)) == 0  # released


@pytest.mark.parametrize("mode", [INDEPENDENT, "--chain"])
def test_a_damaged_chunk_is_found_and_made_again(reference, small_dir, record_ckpts,
                                                 tmp_path, capsys, mode):
    """A finished slab's chunk overwritten with junk: `data info` and `evaluate --record`
    say so, and the same command makes that slab again — chained too, where the history
    before it is replayed (its saved state is gone once the next slab is done)."""
    if mode == INDEPENDENT:
        made = tmp_path / "copy.zarr"
        shutil.copytree(reference, made)
        ref = reference
    else:
        ref, made = tmp_path / "chained-ref.zarr", tmp_path / "chained.zarr"
        assert main(_args(small_dir, record_ckpts, ref)) == 0  # chained: the default
        shutil.copytree(ref, made)
    victim = made / "DUEXTTAU" / "1.1.0.1"  # member 1, segment 1 (the middle), a tile
    assert victim.exists()
    victim.write_bytes(np.random.default_rng(0).bytes(100))
    assert "damaged 2005-08-31 .. 2005-09-02" in describe(made)
    capsys.readouterr()
    assert main(["evaluate", "--record", str(made), "--out", str(tmp_path / "ev")]) == 2
    assert "altered chunks" in capsys.readouterr().err
    extra = [mode] if mode == INDEPENDENT else []
    assert main(_args(small_dir, record_ckpts, made, *extra)) == 0
    assert "making them again" in capsys.readouterr().err
    _same(ref, made)
    assert "complete: resume not needed" in describe(made)


def test_a_full_disk_is_one_line_and_resumes(reference, small_dir, record_ckpts, tmp_path,
                                             monkeypatch, capsys):
    import errno

    from finescale.data import record

    seal, calls = record.seal_slab, []

    def full(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return seal(*a, **k)

    out = tmp_path / "full.zarr"
    monkeypatch.setattr(record, "seal_slab", full)
    assert main(_args(small_dir, record_ckpts, out, INDEPENDENT)) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines()
           if not line.startswith("reconstruct area1:")]  # the progress bar
    assert len(err) == 1 and "no space left writing" in err[0] and "slab 1" in err[0], err
    assert done_slabs(out).sum() == 1  # the finished slab is kept
    monkeypatch.setattr(record, "seal_slab", seal)
    assert main(_args(small_dir, record_ckpts, out, INDEPENDENT)) == 0
    _same(reference, out)


@pytest.mark.filterwarnings("ignore:Object at .finescale-slabs")
def test_a_store_made_before_the_year_was_pinned_is_refused(reference, small_dir,
                                                            record_ckpts, tmp_path, capsys):
    """Its days saw an extrapolated year: resuming would mix two models in one record."""
    import json

    import zarr

    from finescale.data.record import SETTINGS_ATTR

    old = tmp_path / "old.zarr"
    shutil.copytree(reference, old)
    group = zarr.open_group(str(old), mode="r+", zarr_format=2)
    settings = json.loads(group.attrs[SETTINGS_ATTR])
    assert set(settings["year_span"]) == {"JJA", "SON"}
    group.attrs[SETTINGS_ATTR] = json.dumps({k: v for k, v in settings.items()
                                            if k != "year_span"})
    zarr.consolidate_metadata(str(old), zarr_format=2)
    assert main(_args(small_dir, record_ckpts, old, INDEPENDENT)) == 2
    err = capsys.readouterr().err
    assert "year_span: None there" in err and err.count("\n") == 1, err


def test_a_store_from_before_the_protocol_name_resumes():
    """Stores written when the sampler's protocol was called ``kind`` carry that name in
    their settings; read back, they compare equal to today's (a resume is not refused)."""
    import json

    import xarray as xr

    from finescale.data.record import SETTINGS_ATTR, settings_hash, settings_of

    today = {"region": "area0", "sampler": {"protocol": "fast", "steps": 12}, "seed": 0}
    old = {"region": "area0", "sampler": {"kind": "fast", "steps": 12}, "seed": 0}
    rec = xr.Dataset(attrs={SETTINGS_ATTR: json.dumps(old)})
    assert settings_hash(settings_of(rec)) == settings_hash(today)


def test_kept_bits_shrink_the_store_within_their_error(small_dir, record_ckpts, reference,
                                                       tmp_path: Path):
    """``--keepbits 7``: the same members to a relative 2^-8, a smaller store, the setting
    recorded and kept on resume (a rerun without it writes nothing new)."""
    out = tmp_path / "packed.zarr"
    assert main(_args(small_dir, record_ckpts, out, INDEPENDENT, "--keepbits", "7")) == 0
    var = "DUEXTTAU"
    with open_record(reference) as a, open_record(out) as b:
        x, y = a[var].values, b[var].values
    assert not np.array_equal(x, y)
    np.testing.assert_allclose(y, x, rtol=2.0**-8)
    size = lambda p: sum(f.stat().st_size for f in (p / var).rglob("*") if f.is_file())  # noqa: E731
    assert size(out) < 0.7 * size(reference)
    from finescale.data.record import read_settings

    assert read_settings(out)["keepbits"] == 7 and "keepbits" not in read_settings(reference)
    assert main(_args(small_dir, record_ckpts, out, INDEPENDENT)) == 0  # the store's own
    assert main(_args(small_dir, record_ckpts, out, INDEPENDENT, "--keepbits", "10")) == 2


def test_compiled_networks_make_the_same_record_in_fp32(small_dir, record_ckpts, tmp_path):
    """``--compile on`` (torch.compile, where it pays: fp32 on a CPU) makes the same members
    to float32 rounding, and the store's ``software`` says it was compiled."""
    import json

    # one model, one member, no spin-up: the fewest shapes to compile (~1 min on 2 cores)
    period = ["--start", "2005-08-29", "--end", "2005-08-30"]
    args = lambda out, *x: [  # noqa: E731
        "reconstruct", "--data", str(small_dir), "--checkpoints", str(record_ckpts),
        "--region", "area1", *period, "--members", "1", "--segment-days", "2", "--spinup",
        "0", "--tile", "32", "--device", "cpu", "--precision", "fp32", "--out", str(out), *x]
    eager, compiled = tmp_path / "eager.zarr", tmp_path / "compiled.zarr"
    assert main(args(eager, "--compile", "off")) == 0
    assert main(args(compiled, "--compile", "on")) == 0
    with open_record(eager) as a, open_record(compiled) as b:
        x, y = a["DUEXTTAU"].values, b["DUEXTTAU"].values
        software = [json.loads(r.attrs["software"])["torch_compile"] for r in (a, b)]
    assert np.isfinite(y).all()
    np.testing.assert_allclose(np.log10(y), np.log10(x), atol=1e-4)
    assert software == [False, True]


def test_compiling_is_chosen_where_it_pays(monkeypatch):
    import torch

    from finescale.model import device as dev

    cpu = torch.device("cpu")
    monkeypatch.setattr(dev.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert dev.compile_pays(cpu, "fp32")
    assert not dev.compile_pays(cpu, "bf16")  # measured: no faster than bf16 eager
    assert not dev.compile_pays(torch.device("cuda"), "fp32")  # unmeasured there
    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    assert not dev.compile_pays(cpu, "fp32")  # inductor needs a C++ compiler


def test_evaluate_record_scores_the_models_test_days(reference, small, tmp_path, capsys):
    """`evaluate --record` finds the store's checkpoints and scores their split's test days
    apart; with the checkpoints gone it says so and scores every truth day only."""
    import json

    from finescale.data.record import settings_of
    from finescale.data.splits import SplitConfig, make_split
    from finescale.model.checkpoints import read_manifest

    rec = open_record(reference)
    paths = [Path(p.strip()) for p in rec.attrs["checkpoints"].split(",")]
    fine = small.region("area1").fine["time"].values
    days = rec["time"].values
    want = sum(int(np.isin(make_split(fine, m["season"], SplitConfig(**m["split"])).test,
                           days).sum())
               for m in map(read_manifest, paths))
    assert settings_of(rec)["checkpoints"]
    out = tmp_path / "ev"
    assert main(["evaluate", "--record", str(reference), "--out", str(out), "--data",
                 str(small.path)]) == 0
    assert "test-day scores on the" in capsys.readouterr().err
    rows = json.loads((out / "record.json").read_text())
    year = next(r for r in rows if r["level"] == "year" and r["source"] == "generated")
    assert year["test_days"] == want and want > 0
    assert "r2_test" in (out / "report.md").read_text()
    # the checkpoints the store names are gone: said once, every truth day scored as before
    import zarr

    moved = tmp_path / "moved.zarr"
    shutil.copytree(reference, moved)
    zarr.open_group(str(moved), mode="r+").attrs["checkpoints"] = str(tmp_path / "gone.st")
    assert main(["evaluate", "--record", str(moved), "--out", str(tmp_path / "ev2"), "--data",
                 str(small.path)]) == 0
    assert "no test-day scores: " in capsys.readouterr().err
    rows = json.loads((tmp_path / "ev2" / "record.json").read_text())
    assert all("r2_test" not in r for r in rows) and any(r["r2"] for r in rows)
    # no dataset to find the split in (a machine with the store only): said, scored as before
    assert main(["evaluate", "--record", str(reference), "--out", str(tmp_path / "ev3"),
                 "--data", str(tmp_path / "no-dataset")]) == 0
    assert "no test-day scores: no dataset at" in capsys.readouterr().err
    rows = json.loads((tmp_path / "ev3" / "record.json").read_text())
    assert all("r2_test" not in r for r in rows)
