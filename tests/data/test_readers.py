"""Readers and import on small files written in the real products' conventions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from finescale.app.cli import main
from finescale.data.errors import FinescaleError
from finescale.data.importer import import_pair
from finescale.data.layout import open_dataset
from finescale.data.readers import read_g5nr, read_merra2
from finescale.data.splits import SplitConfig

FILL = np.float32(1e15)
BBOX = (24.0, 27.0, 50.0, 54.0)


def _aer_attrs() -> dict:
    return {"long_name": "Dust Extinction AOT [550 nm]", "units": "1", "_FillValue": FILL,
            "missing_value": FILL, "fmissing_value": FILL, "scale_factor": 1.0,
            "add_offset": 0.0, "vmax": FILL, "vmin": -FILL}


def write_merra2_day(folder: Path, day: str, rng: np.random.Generator, lon360: bool = False,
                     value: float | None = None) -> Path:
    """One M2T1NXAER-style file: 24 hourly steps on a crop of the 0.5° × 0.625° lattice."""
    lat = np.arange(20.0, 31.0, 0.5)
    lon = np.arange(-180.0, 180.0, 0.625)
    lon = lon[(lon >= 45) & (lon <= 60)]
    if lon360:
        lon = lon % 360
    t0 = pd.Timestamp(day)
    minutes = np.arange(24, dtype=np.int32) * 60
    data = (rng.lognormal(-2.5, 0.5, (24, lat.size, lon.size)) if value is None
            else np.full((24, lat.size, lon.size), value)).astype(np.float32)
    ds = xr.Dataset(
        {"DUEXTTAU": (("time", "lat", "lon"), data)},
        coords={"time": ("time", minutes, {"units": f"minutes since {t0:%Y-%m-%d} 00:30:00",
                                           "begin_date": int(f"{t0:%Y%m%d}"), "begin_time": 3000}),
                "lat": ("lat", lat, {"units": "degrees_north", "long_name": "latitude"}),
                "lon": ("lon", lon, {"units": "degrees_east", "long_name": "longitude"})},
        attrs={"ShortName": "M2T1NXAER", "LongName": "MERRA2 tavg1_2d_aer_Nx",
               "Conventions": "CF-1"},
    )
    path = folder / f"MERRA2_300.tavg1_2d_aer_Nx.{t0:%Y%m%d}.nc4"
    enc = {"DUEXTTAU": {k: v for k, v in _aer_attrs().items() if k == "_FillValue"}}
    ds["DUEXTTAU"].attrs.update({k: v for k, v in _aer_attrs().items() if k != "_FillValue"})
    ds.to_netcdf(path, engine="h5netcdf", encoding=enc)
    return path


def write_g5nr_day(folder: Path, day: str, rng: np.random.Generator, descending: bool = False
                   ) -> list[Path]:
    """A G5NR-style file of one day: 6-hourly steps (the real product has one file per
    30-minute step; a file per day keeps the 42-day test records quick to open)."""
    lat = np.arange(23.0, 28.0 + 1e-9, 0.0625)
    lon = np.arange(49.0, 55.0 + 1e-9, 0.0625)
    if descending:
        lat = lat[::-1]
    t = pd.Timestamp(day) + pd.Timedelta(minutes=15)
    data = rng.lognormal(-2.5, 0.7, (4, lat.size, lon.size)).astype(np.float32)
    ds = xr.Dataset(
        {"DUEXTTAU": (("time", "lat", "lon"), data)},
        coords={"time": ("time", np.arange(4) * 360,
                         {"units": f"minutes since {t:%Y-%m-%d %H:%M:%S}"}),
                "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
        attrs={"Title": "GEOS-5 Nature Run c1440_NR"},
    )
    ds["DUEXTTAU"].attrs.update({k: v for k, v in _aer_attrs().items() if k != "_FillValue"})
    p = folder / f"c1440_NR.tavg30mn_2d_aer1_Nx.{t:%Y%m%d_%H%M}z.nc4"
    ds.to_netcdf(p, engine="h5netcdf", encoding={"DUEXTTAU": {"_FillValue": FILL}})
    return [p]


# the shortest record that can be trained: 40 days of history before two MAM days
DAYS = pd.date_range("2006-03-01", periods=SplitConfig().history + 2, freq="D")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("pair")
    c, f = root / "merra2", root / "g5nr"
    c.mkdir()
    f.mkdir()
    for day in DAYS:
        write_merra2_day(c, f"{day:%Y-%m-%d}", rng)
        write_g5nr_day(f, f"{day:%Y-%m-%d}", rng)
    return c, f


def test_merra2_daily_means_and_fill_values(tmp_path: Path):
    rng = np.random.default_rng(1)
    p = write_merra2_day(tmp_path, "2006-01-01", rng)
    raw = xr.open_dataset(p, engine="h5netcdf", mask_and_scale=False)["DUEXTTAU"].values.copy()
    raw[5, 3, 4] = FILL  # one fill value in one hour
    with xr.open_dataset(p, engine="h5netcdf", mask_and_scale=False) as ds:
        ds = ds.load()
    ds["DUEXTTAU"].values[:] = raw
    ds.to_netcdf(tmp_path / "edited.nc4", engine="h5netcdf")
    da = read_merra2(tmp_path / "edited.nc4", bbox=BBOX)
    assert da.sizes["time"] == 1 and pd.Timestamp(da.time.values[0]) == pd.Timestamp("2006-01-01")
    i = int(np.searchsorted(xr.open_dataset(p, engine="h5netcdf").lat.values, da.lat.values[0]))
    j = int(np.searchsorted(xr.open_dataset(p, engine="h5netcdf").lon.values, da.lon.values[0]))
    expect = np.where(raw == FILL, np.nan, raw)[:, i:, j:].astype(np.float64)
    expect = np.nanmean(expect, axis=0)[: da.sizes["lat"], : da.sizes["lon"]]
    np.testing.assert_allclose(da.values[0], expect, rtol=1e-5)
    # the crop keeps one coarse cell around the bbox
    assert da.lat.values[0] <= BBOX[0] and da.lat.values[-1] >= BBOX[1]


def test_g5nr_glob_to_daily(pair):
    _, f = pair
    da = read_g5nr(str(f / "*.nc4"), bbox=BBOX)
    assert da.sizes["time"] == DAYS.size
    assert np.allclose(np.diff(da.lat), 0.0625) and da.lat.values[0] >= BBOX[0]


def test_import_builds_a_dataset(pair, tmp_path: Path):
    c, f = pair
    out = import_pair(str(c / "*.nc4"), str(f / "*.nc4"), "DUEXTTAU", tmp_path / "ds",
                      region_name="gulf", bbox=BBOX)
    ds = open_dataset(out)
    reg = ds.region("gulf")
    assert reg.fine.sizes["time"] == DAYS.size and reg.coarse.sizes["time"] == DAYS.size
    assert float(reg.fine.lat.min()) >= BBOX[0] and float(reg.fine.lat.max()) <= BBOX[1]
    assert reg.static["elevation"].shape == reg.fine.shape[1:]
    assert float(reg.static["elevation"].max()) > 0  # real relief from the shipped layers


def test_import_handles_0_360_and_descending_latitudes(tmp_path: Path):
    rng = np.random.default_rng(2)
    c, f = tmp_path / "c", tmp_path / "f"
    c.mkdir()
    f.mkdir()
    for day in DAYS.strftime("%Y-%m-%d"):
        write_merra2_day(c, day, rng, lon360=True)
        write_g5nr_day(f, day, rng, descending=True)
    out = import_pair([str(c / "*.nc4")], [str(f / "*.nc4")], "DUEXTTAU", tmp_path / "ds")
    reg = open_dataset(out).region("region0")
    assert (np.diff(reg.fine.lat) > 0).all() and (np.diff(reg.coarse.lon) > 0).all()


def test_cli_import_and_info(pair, tmp_path: Path, capsys):
    c, f = pair
    out = tmp_path / "cli"
    assert main(["data", "import", "--coarse", str(c / "*.nc4"), "--fine", str(f / "*.nc4"),
                 "--variable", "DUEXTTAU", "--out", str(out), "--bbox", "24,27,50,54"]) == 0
    assert main(["data", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "region0" in text and f"{DAYS.size} days, 0 missing" in text


# --- bad input ------------------------------------------------------------------------------

def _run_import(c, f, out, *extra) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["data", "import", "--coarse", *map(str, c), "--fine", *map(str, f),
                     "--variable", "DUEXTTAU", "--out", str(out), *extra])
    return code, err.getvalue()


def _assert_clean_failure(code: int, err: str, out: Path, *words: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("finescale: error:")
    assert "Traceback" not in err
    for w in words:
        assert w in err, err
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))  # no partial dataset left


def test_bad_missing_file(pair, tmp_path):
    _c, f = pair
    out = tmp_path / "o"
    code, err = _run_import([tmp_path / "nope.nc4"], [f / "*.nc4"], out)
    _assert_clean_failure(code, err, out, "nope.nc4")


def test_bad_not_netcdf(pair, tmp_path):
    _, f = pair
    bad = tmp_path / "notes.nc4"
    bad.write_text("this is not a netcdf file")
    out = tmp_path / "o"
    code, err = _run_import([bad], [f / "*.nc4"], out)
    _assert_clean_failure(code, err, out, "notes.nc4", "not a NetCDF")


def test_bad_missing_variable(pair, tmp_path):
    c, f = pair
    out = tmp_path / "o"
    code, err = _run_import([c / "*.nc4"], [f / "*.nc4"], out)
    assert code == 0  # sanity: the good pair imports
    code, err = _run_import([c / "*.nc4"], [f / "*.nc4"], tmp_path / "o2", "--variable", "AOD")
    _assert_clean_failure(code, err, tmp_path / "o2", "'AOD'", "DUEXTTAU")


def test_bad_irregular_grid(pair, tmp_path):
    c, f = pair
    p = sorted(c.glob("*.nc4"))[0]
    ds = xr.open_dataset(p, engine="h5netcdf").load()
    lon = ds.lon.values.copy()
    lon[3] += 0.2
    ds.assign_coords(lon=lon).to_netcdf(tmp_path / "irr.nc4", engine="h5netcdf")
    out = tmp_path / "o"
    code, err = _run_import([tmp_path / "irr.nc4"], [f / "*.nc4"], out)
    _assert_clean_failure(code, err, out, "irr.nc4", "longitude is not regularly spaced")


def test_bad_non_overlapping(pair, tmp_path):
    c, f = pair
    d = tmp_path / "far"
    d.mkdir()
    for p in sorted(f.glob("*.nc4")):
        ds = xr.open_dataset(p, engine="h5netcdf").load()
        ds.assign_coords(lon=ds.lon - 100).to_netcdf(d / p.name, engine="h5netcdf")
    out = tmp_path / "o"
    code, err = _run_import([c / "*.nc4"], [d / "*.nc4"], out)
    _assert_clean_failure(code, err, out, "do not overlap")


def test_bad_fill_valued_day(pair, tmp_path):
    _, f = pair
    c = tmp_path / "cfill"
    c.mkdir()
    rng = np.random.default_rng(3)
    write_merra2_day(c, "2006-03-01", rng)
    write_merra2_day(c, "2006-03-02", rng, value=1e15)
    out = tmp_path / "o"
    code, err = _run_import([c / "*.nc4"], [f / "*.nc4"], out)
    _assert_clean_failure(code, err, out, "all missing or fill values", "2006-03-02")


def test_bad_log_transform_of_signed_values(pair, tmp_path):
    _, f = pair
    c = tmp_path / "cneg"
    c.mkdir()
    write_merra2_day(c, "2006-03-01", np.random.default_rng(4), value=-0.01)
    out = tmp_path / "o"
    code, err = _run_import([c / "*.nc4"], [f / "*.nc4"], out, "--transform", "log")
    _assert_clean_failure(code, err, out, "values <= 0", "min -0.01", "--transform standard")


def test_bad_time_gap(pair, tmp_path):
    _, f = pair
    c = tmp_path / "cgap"
    c.mkdir()
    rng = np.random.default_rng(5)
    for day in ("2006-03-01", "2006-03-02", "2006-03-04"):
        write_merra2_day(c, day, rng)
    out = tmp_path / "o"
    code, err = _run_import([c / "*.nc4"], [f / "*.nc4"], out)
    _assert_clean_failure(code, err, out, "time gaps", "2006-03-03")


def test_bad_bbox_outside(pair, tmp_path):
    c, f = pair
    out = tmp_path / "o"
    code, err = _run_import([c / "*.nc4"], [f / "*.nc4"], out, "--bbox", "60,70,0,10")
    _assert_clean_failure(code, err, out, "(60.0, 70.0, 0.0, 10.0)")


def test_existing_output_is_never_clobbered(pair, tmp_path):
    c, f = pair
    out = tmp_path / "keep"
    out.mkdir()
    (out / "precious.txt").write_text("x")
    code, err = _run_import([c / "*.nc4"], [f / "*.nc4"], out)
    assert code == 2 and "already exists" in err
    assert (out / "precious.txt").read_text() == "x"


def test_failure_midway_keeps_old_dataset(pair, tmp_path, monkeypatch):
    c, f = pair
    out = tmp_path / "ds"
    import_pair(str(c / "*.nc4"), str(f / "*.nc4"), "DUEXTTAU", out)
    before = sorted(p.name for p in out.rglob("*"))
    import finescale.data.layout as layout

    def boom(*a, **k):
        raise FinescaleError("disk full")

    monkeypatch.setattr(layout, "write_netcdf", boom)
    with pytest.raises(FinescaleError, match="disk full"):
        import_pair(str(c / "*.nc4"), str(f / "*.nc4"), "DUEXTTAU", out, overwrite=True)
    assert sorted(p.name for p in out.rglob("*")) == before
    assert not list(tmp_path.glob(".ds.tmp-*"))


def test_bad_record_too_short_for_any_season(pair, tmp_path):
    c, f = pair
    short = tmp_path / "fshort"
    short.mkdir()
    for p in sorted(f.glob("*.nc4"))[:10]:  # 10 days
        (short / p.name).symlink_to(p)
    out = tmp_path / "o"
    code, err = _run_import([c / "*.nc4"], [short / "*.nc4"], out)
    _assert_clean_failure(code, err, out, "10 fine day(s)", "too few to train any season",
                          "42 consecutive")


def test_signed_variable_is_standardised_and_checkpoints_must_match(tmp_path, ckpts):
    """An imported wind field (signed) gets the standard transform; a checkpoint trained on
    another variable is refused with one line naming both."""
    from finescale.model.generation import load_model
    from tests.own_data import write_pair

    c, f = write_pair(tmp_path)
    out = import_pair(str(c / "*.nc"), str(f / "*.nc"), "u10", tmp_path / "ds",
                      region_name="area1")
    ds = open_dataset(out)
    assert ds.transform == "standard" and "values <= 0" in ds.manifest["transform_reason"]
    assert ds.region("area1").meta["seasons"] == ["JJA"]  # the only season with enough days
    with pytest.raises(FinescaleError, match=r"trained on variable 'DUEXTTAU'.*holds 'u10'"):
        load_model(ckpts["diffusion"], ds)


def test_transform_must_match(tmp_path, small_dir, ckpts):
    import json
    import shutil

    copy = tmp_path / "small"
    shutil.copytree(small_dir, copy)
    m = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**m, "transform": "standard"}))
    from finescale.model.generation import load_model

    with pytest.raises(FinescaleError, match=r"trained with the 'log' transform.*'standard'"):
        load_model(ckpts["diffusion"], open_dataset(copy))


def test_dataset_manifest_errors_name_the_file(tmp_path):
    with pytest.raises(FinescaleError, match="no dataset at"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "ds").mkdir()
    with pytest.raises(FinescaleError, match=r"manifest\.json is missing"):
        open_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "manifest.json").write_text("{not json")
    with pytest.raises(FinescaleError, match=r"ds/manifest\.json is not valid JSON"):
        open_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(FinescaleError, match="format is 'other'"):
        open_dataset(tmp_path / "ds")
