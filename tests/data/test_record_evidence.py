"""Evidence where there is no truth: per-year statistics of a record, and the drift flag."""

from __future__ import annotations

import json

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from finescale.app.cli import main
from finescale.data.record import RecordLayout, create_store, write_slab
from finescale.data.record_evidence import (
    CLIP_ATTR,
    flag_rows,
    year_rows,
)
from finescale.data.regrid import regrid
from finescale.data.scores import PooledPearson, r2_pearson

START, END = "2004-10-01", "2006-03-31"  # 2004 has no fine truth; 2005 and 2006 have


def test_pooled_pearson_equals_r2_pearson_on_the_concatenation():
    rng = np.random.default_rng(0)
    p, t = rng.normal(5, 1, (3, 200)), rng.normal(5, 1, (3, 200))
    p += 0.7 * t
    p[1, :10] = np.nan
    acc = PooledPearson()
    for k in range(3):
        acc.add(p[k], t[k])
    assert acc.r2() == pytest.approx(r2_pearson(p, t), rel=1e-10)


def _record(small, tmp_path, drift: float, name: str):
    """A record of START..END made through the store code by a synthetic 'model': the
    coarse input regridded, with member noise of fine texture, biased by ``drift`` log10
    units per year before the fine truth begins (a model that drifts away from its data)."""
    rd = small.region("area1")
    days = pd.date_range(START, END)
    lay = RecordLayout(START, END, members=2, segment_days=30, tile=32)
    coarse = rd.coarse.sel(time=days)
    base = regrid(coarse, rd.fine["lat"].values, rd.fine["lon"].values, "bilinear").values
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.08, (2, days.size, *base.shape[1:]))
    years_before = np.clip((pd.Timestamp("2005-05-15") - days).days.to_numpy() / 365.25, 0, None)
    gen = base[None] * 10 ** (noise + drift * years_before[None, :, None, None])
    gen = gen.astype(np.float32)
    shape = base.shape[1:]
    da = xr.DataArray(dsa.full((2, days.size, *shape), np.nan, dtype=np.float32,
                               chunks=lay.chunks(shape)),
                      dims=("member", "time", "lat", "lon"),
                      coords={"member": [0, 1], "time": days, "lat": rd.fine["lat"].values,
                              "lon": rd.fine["lon"].values},
                      attrs={"units": "1", CLIP_ATTR: json.dumps({})})
    var = small.variable
    tmpl = xr.Dataset({var: da,
                       f"{var}_truth": xr.full_like(da.isel(member=0), np.nan),
                       f"{var}_coarse": coarse.rename(lat="lat_coarse", lon="lon_coarse")
                       .astype(np.float32).chunk()})
    settings = {"variable": var, "transform": "log", "region": "area1"}
    sources = {f"{var}_truth": rd.fine,
               f"{var}_coarse": rd.coarse.rename(lat="lat_coarse", lon="lon_coarse")}
    out = tmp_path / name
    create_store(out, tmpl, lay, settings, sources)
    for k, b in lay.slabs():
        write_slab(out, var, lay, (k, b), gen[:, lay.segment(k)])
    return out


@pytest.fixture(scope="module")
def records(small, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evidence")
    return {"steady": _record(small, tmp, 0.0, "steady.zarr"),
            "drifting": _record(small, tmp, 0.6, "drifting.zarr")}


def test_year_rows_of_a_steady_model_are_not_flagged(records):
    from finescale.data.record import open_record

    every = year_rows(open_record(records["steady"]))
    rows = [r for r in every if r["level"] == "year"]
    assert [(r["year"], r["source"]) for r in rows] == [
        (2004, "generated"), (2005, "generated"), (2005, "truth"), (2006, "generated"),
        (2006, "truth")]
    gen = {r["year"]: r for r in rows if r["source"] == "generated"}
    truth = {r["year"]: r for r in rows if r["source"] == "truth"}
    assert gen[2004]["truth_days"] == 0 and gen[2005]["truth_days"] == 231
    # the truth is consistent with its coarse input; so are members made from it
    assert truth[2006]["coarse_r2"] > 0.6 and gen[2004]["coarse_r2"] > 0.6
    assert abs(gen[2004]["coarse_bias"]) < 0.05
    assert 0.05 < gen[2004]["spread"] < 0.2  # 0.08 × √2 member noise, on log10
    assert np.isnan(gen[2004]["r2"]) and 0 < gen[2005]["r2"] < 1 and gen[2005]["crps"] > 0
    assert 0 < gen[2004]["lag1"] < 1 and gen[2004]["p01"] < gen[2004]["p99"]
    assert gen[2004]["flag"] is False, gen[2004]["reason"]
    son = [r for r in every if r["year"] == 2004 and r["season"] == "SON"
           and r["source"] == "generated"]
    assert son[0]["flag"] is False and son[0]["days"] == 61  # October and November
    assert gen[2005]["flag"] is False  # a truth year is the reference


def test_a_drifting_model_is_flagged_with_the_reason(records, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["evaluate", "--record", str(records["drifting"]), "--out", str(out)]) == 0
    assert "flagged: 2004" in capsys.readouterr().out
    rows = json.loads((out / "record.json").read_text())
    r2004 = next(r for r in rows if r["year"] == 2004 and r["source"] == "generated"
                 and r["level"] == "year")
    assert r2004["flag"] is True
    assert "coarse_bias" in r2004["reason"] and "mean − coarse mean" in r2004["reason"]
    assert r2004["coarse_bias"] > 0.2  # ~0.6 log10 per year, 0.6 years before on average
    assert "2004" in (out / "report.md").read_text()
    assert (out / "record.png").stat().st_size > 10_000
    # the figure drawn again from record.json alone, whose truth rows hold nulls (NaN)
    from finescale.app.record_report import figure

    assert any(v is None for r in rows if r["source"] == "truth" for v in r.values())
    figure(rows, tmp_path / "again.png")
    assert (tmp_path / "again.png").stat().st_size > 10_000


def test_without_a_truth_year_nothing_is_judged():
    rows = flag_rows([{"source": "generated", "truth_days": 0, "year": 2001, "level": "season",
                       "season": "JJA",
                       **dict.fromkeys(("coarse_r2", "coarse_bias", "mean", "spread",
                                        "semivariance_short", "lag1", "p01", "p99", "clipped",
                                        "coarse_mean", "coarse_p01", "coarse_p99"), 0.0)}])
    assert rows[0]["flag"] is None and "no truth days of JJA" in rows[0]["reason"]


def test_a_store_that_is_not_a_record_is_one_line(tmp_path, capsys):
    bad = tmp_path / "x.zarr"
    bad.mkdir()
    assert main(["evaluate", "--record", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.zarr" in err[0]


def test_scores_on_the_test_days_alone(records):
    """Given the days the models never trained on, generated rows also score those truth
    days alone; a day outside the truth is not counted."""
    from finescale.data.record import open_record

    rec = open_record(records["steady"])
    chosen = pd.DatetimeIndex(["2004-12-01", "2005-07-02", "2005-07-03", "2006-01-10"])
    rows = [r for r in year_rows(rec, test_days=chosen) if r["source"] == "generated"]
    by = {(r["year"], r["season"], r["level"]): r for r in rows}
    assert by[(2004, "all", "year")]["test_days"] == 0  # no truth in 2004
    assert np.isnan(by[(2004, "all", "year")]["r2_test"])
    assert by[(2005, "all", "year")]["test_days"] == 2
    assert by[(2005, "JJA", "season")]["test_days"] == 2
    assert by[(2006, "all", "year")]["test_days"] == 1
    jja = by[(2005, "JJA", "season")]
    assert 0 < jja["r2_test"] <= 1 and jja["crps_test"] > 0 and jja["r2_test"] != jja["r2"]
    plain = year_rows(rec)
    assert all("r2_test" not in r for r in plain)
