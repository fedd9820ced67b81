"""The command line end to end on the small default: one line per error, files written."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import xarray as xr

from finescale.app.cli import main


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_train_and_generate_from_the_cli(small_dir: Path, tmp_path: Path):
    ck = tmp_path / "ck"
    for stage in ("encoder", "diffusion"):
        code, _out, err = run("train", stage, "--region", "area1", "--season", "JJA", "--preset",
                             "test", "--data", str(small_dir), "--out", str(ck))
        assert code == 0, err
    nc = tmp_path / "gen.nc"
    code, _out, err = run("generate", "--data", str(small_dir), "--checkpoint",
                         str(ck / "area1-JJA-diffusion.safetensors"), "--start", "2006-06-10",
                         "--end", "2006-06-11", "--members", "2", "--steps", "2", "--out", str(nc))
    assert code == 0, err
    ds = xr.open_dataset(nc, engine="h5netcdf")
    assert ds.DUEXTTAU.shape == (2, 2, 64, 64) and ds.attrs["sampler"] == "fast"
    assert ds.attrs["sampler_windows"] == 1  # the default: windows of the training patch
    whole = tmp_path / "whole.nc"
    code, _out, err = run("generate", "--data", str(small_dir), "--checkpoint",
                          str(ck / "area1-JJA-diffusion.safetensors"), "--start", "2006-06-10",
                          "--end", "2006-06-10", "--members", "1", "--steps", "2",
                          "--no-windows", "--out", str(whole))
    assert code == 0, err
    assert xr.open_dataset(whole, engine="h5netcdf").attrs["sampler_windows"] == 0
    lap = tmp_path / "lap.nc"
    code, _out, err = run("generate", "--data", str(small_dir), "--checkpoint",
                          str(ck / "area1-JJA-diffusion.safetensors"), "--start", "2006-06-10",
                          "--end", "2006-06-10", "--members", "1", "--steps", "2",
                          "--window-overlap", "0.25", "--out", str(lap))
    assert code == 0, err
    assert xr.open_dataset(lap, engine="h5netcdf").attrs["sampler_window_overlap"] == 0.25


def test_cli_errors_are_one_line(small_dir: Path, tmp_path: Path):
    cases = [
        (["generate", "--data", str(small_dir), "--checkpoint", str(tmp_path / "none.safetensors"),
          "--start", "2006-06-10", "--end", "2006-06-10", "--out", str(tmp_path / "x.nc")],
         "checkpoint not found"),
        (["train", "encoder", "--region", "area9", "--season", "JJA", "--data", str(small_dir)],
         "area9"),
        (["train", "encoder", "--region", "area1", "--season", "JJA", "--data", str(small_dir),
          "--device", "cuda:0"], "CUDA"),
        (["train", "unet", "--region", "area1", "--season", "JJA", "--data", str(small_dir),
          "--batch", "0"], "--batch must be >= 1"),
        (["data", "info", str(tmp_path / "missing")], "not found"),
        (["data", "prepare", "--small", "--out", "/proc/finescale-x"], "cannot write"),
        (["data", "import", "--coarse", str(small_dir / "area1" / "coarse.nc"), "--fine",
          str(small_dir / "area1" / "fine.nc"), "--variable", "DUEXTTAU", "--out",
          "/proc/finescale-y"], "cannot write"),
        (["generate", "--data", str(small_dir), "--checkpoint", "area7-JJA-diffusion",
          "--start", "2006-06-10", "--end", "2006-06-10", "--out", str(tmp_path / "z.nc")],
         "no checkpoint named 'area7-JJA-diffusion'"),
        (["generate", "--data", str(small_dir), "--checkpoint", "interp:bilinear", "--start",
          "2006-06-10", "--end", "2006-06-10", "--out", "/proc/finescale-z.nc"],
         "cannot write"),
        (["generate", "--data", str(small_dir), "--checkpoint", "interp:bilinear", "--start",
          "2006-06-10", "--end", "2006-06-10", "--members", "0", "--out", str(tmp_path / "y.nc")],
         "members must be >= 1"),
    ]
    for argv, word in cases:
        code, _, err = run(*argv)
        assert code == 2, argv
        assert err.startswith("finescale: error:") and err.count("\n") == 1 and word in err, err
    assert not (tmp_path / "x.nc").exists() and not (tmp_path / "y.nc").exists()


def test_similarity_command(small_dir: Path, tmp_path: Path):
    code, out, _ = run("data", "similarity", "--data", str(small_dir), "--out",
                       str(tmp_path / "s.csv"))
    assert code == 0 and "area1" in out and (tmp_path / "s.csv").exists()


def test_evaluate_command(small_dir: Path, ckpts, tmp_path: Path):
    out = tmp_path / "report"
    code, stdout, err = run("evaluate", "--data", str(small_dir), "--checkpoints",
                            str(ckpts["unet"]), str(ckpts["diffusion"]), "--members", "2",
                            "--days", "1", "--rollout", "3", "--steps", "2", "--out", str(out))
    assert code == 0, err
    assert "report.md" in stdout and (out / "metrics.json").exists()
    code, _, err = run("evaluate", "--data", str(small_dir), "--checkpoints",
                       str(tmp_path / "missing"), "--out", str(tmp_path / "r2"))
    assert code == 2 and err.count("\n") == 1 and "not found" in err
    assert not (tmp_path / "r2").exists()
