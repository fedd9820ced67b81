"""scripts/members_curve.py: on synthetic ensembles of known quality the infinite-member
estimates stay flat in N while the N-member scores move; on a tiny trained model the
script runs end to end and prints its JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from tests.scripts import load_script


def _script():
    return load_script("members_curve")


def test_the_infinite_member_estimates_are_flat_in_n():
    rng = np.random.default_rng(0)
    days, ny, nx, m = 6, 24, 24, 16
    signal = rng.normal(size=(days, ny, nx))
    mean = signal + 0.3 * rng.normal(size=signal.shape)  # the infinite-member mean
    truth = signal
    members = mean + 0.6 * rng.normal(size=(m, *signal.shape))
    coords = {"time": pd.date_range("2006-06-01", periods=days), "lat": np.arange(ny),
              "lon": np.arange(nx)}
    g = xr.DataArray(10**members, {"member": np.arange(m), **coords},
                     ("member", "time", "lat", "lon"))
    t = xr.DataArray(10**truth, coords, ("time", "lat", "lon"))
    rows = _script().curve(g, t, "log")
    assert [r["members"] for r in rows] == [1, 2, 4, 8, 16]
    assert rows[0]["r2_inf"] is None and rows[0]["crps_fair"] is None
    r2 = [r["r2"] for r in rows]
    inf = [r["r2_inf"] for r in rows[1:]]
    true_r2 = np.corrcoef(mean.ravel(), truth.ravel())[0, 1] ** 2
    assert r2 == sorted(r2) and r2[-1] - r2[1] > 0.05  # more members, better mean
    assert max(abs(x - true_r2) for x in inf) < 0.01  # every N estimates the same limit
    fair = [r["crps_fair"] for r in rows[1:]]
    assert max(fair) - min(fair) < 0.03 * np.mean(fair)  # unbiased; 2 members are noisy
    assert rows[1]["crps"] > rows[-1]["crps"]  # the plain CRPS improves with N


def test_the_script_runs_on_a_trained_model(small_dir, ckpts, capsys, tmp_path, monkeypatch):
    mod = _script()
    fig = tmp_path / "curve.png"
    args = ["--pairs", "area1-JJA", "--members", "4", "--days", "2", "--checkpoints",
            str(ckpts["diffusion"].parent), "--data", str(small_dir), "--cache",
            str(tmp_path / "c")]
    assert mod.main([*args, "--figure", str(fig)]) == 0
    out = capsys.readouterr().out
    (res,) = json.loads(out)
    assert (res["region"], res["season"], res["days"]) == ("area1", "JJA", 2)
    assert [r["members"] for r in res["curve"]] == [1, 2, 4]
    assert fig.read_bytes()[:4] == b"\x89PNG"
    # a second run scores the kept members: nothing is generated again, the same curve
    monkeypatch.setattr(mod, "generate_days", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("generated again")))
    assert mod.main(args) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(out)
    assert mod.main(["--members", "1"]) == 2
    assert mod.main(["--device", "tpu", "--data", str(small_dir)]) == 2  # one line, exit 2
    assert "unknown device 'tpu'" in capsys.readouterr().err
