"""``finescale bench --quick`` runs on the small default and reports honest, complete rows."""

from __future__ import annotations

import json
from pathlib import Path

from finescale.app.cli import main


def test_bench_quick(small_dir: Path, ckpts, student, tmp_path: Path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--quick", "--data", str(small_dir), "--checkpoints",
                 str(ckpts["diffusion"].parent), str(student.parent), "--regions", "area1",
                 "--train-presets",
                 "test", "--device", "cpu", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "paper_protocol" in printed and "speedup" in printed
    b = json.loads(out.read_text())
    rows = {r["method"]: r for r in b["sampling"]}
    assert set(rows) == {"paper_protocol", "fast", "fast_bf16", "fast_windows", "bilinear",
                         "reconstruct", "distilled_1call", "distilled_2call"}
    for calls in (1, 2):  # the student of this teacher, timed in the same run
        d = rows[f"distilled_{calls}call"]
        assert d["nfe"] == d["calls"] == calls and d["checkpoint"] == str(student)
        assert d["speedup_vs_teacher"] == (  # the teacher as used: windows, 12 steps
            rows["fast_windows"]["seconds_per_map_member"] / d["seconds_per_map_member"])
        assert d["speedup_vs_paper_protocol"] == (
            rows["paper_protocol"]["seconds_per_map_member"] / d["seconds_per_map_member"])
        assert 0 <= d["r2"] <= 1 and d["variogram_error"] >= 0
    used = rows["fast_windows"]  # the teacher's own noise memory, and what it costs
    assert used["noise_rho"] == 0.3
    assert 0 < used["noise_seconds_independent"] and 0 < used["noise_seconds"]
    assert used["noise_seconds"] < 0.1 * used["seconds_per_map_member"]
    rec = rows["reconstruct"]  # the public reconstruct, timed: its rate and projection agree
    # with the record's default: the student of this teacher, one call
    assert rec["kind"] == "distilled" and rec["checkpoint"] == student.name
    assert rec["nfe"] == 1 and rec["members"] == 2 and rec["days"] == 2
    assert rec["member_days_per_s"] == 4 / rec["seconds"]
    assert rec["projected_full_record_hours"] == 9132 * 8 / rec["member_days_per_s"] / 3600
    assert 0 < rec["fraction_of_matmul_peak"] and rec["achieved_gflops"] > 0
    bf = rows["fast_bf16"]
    assert bf["speedup_vs_fast_fp32"] == (
        rows["fast"]["seconds_per_map_member"] / bf["seconds_per_map_member"])
    assert 0 <= bf["r2"] <= 1 and bf["variogram_error"] >= 0
    paper, fast = rows["paper_protocol"], rows["fast"]
    assert paper["extrapolated"] and paper["steps"] == 200 and paper["timed_steps"] == 1
    # the speed-up is the ratio of the two measured times, not a constant
    assert fast["speedup_vs_paper_protocol"] == (
        paper["seconds_per_map_member"] / fast["seconds_per_map_member"])
    assert fast["speedup_vs_paper_protocol"] > 1
    for r in (paper, fast):
        assert 0 <= r["r2"] <= 1 and r["variogram_error"] >= 0
        assert 0 < r["fraction_of_matmul_peak"] and r["achieved_gflops"] > 0
    assert b["matmul_gflops"] > 0 and b["memory"]["generation_peak_rss_mb"] > 100
    t = b["training"][0]
    assert t["preset"] == "test" and t["encoder_samples_per_s"] > 0
    assert t["downscaler_samples_per_s"] > 0
