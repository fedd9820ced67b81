"""``finescale bench --quick`` runs on the small default and reports honest, complete rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finescale.app.cli import main


@pytest.fixture(autouse=True)
def eager(monkeypatch):
    """The rows run eager on any CPU: compiling (the record's default in fp32, i.e. on a CPU
    without native bf16) costs a minute and is tested in test_reconstruct."""
    monkeypatch.setattr("finescale.model.bench.compile_pays", lambda *a: False)


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
    # every speed-up is the ratio of two rows' times measured in this run (none a constant);
    # no assertion on a time itself: the machine decides those
    baseline = {"speedup_vs_paper_protocol": "paper_protocol", "speedup_vs_fast_fp32": "fast",
                "speedup_vs_teacher": "fast_windows"}
    ratios = 0
    for name, r in rows.items():
        for key, base in baseline.items():
            if key in r:
                ratios += 1
                assert r[key] == pytest.approx(rows[base]["seconds_per_map_member"]
                                               / r["seconds_per_map_member"]), (name, key)
    assert ratios == 8
    for name, r in rows.items():
        if name != "reconstruct":
            assert 0 <= r["r2"] <= 1 and r["variogram_error"] >= 0, name
            assert r["seconds_per_map_member"] > 0 and r["region"] == "area1", name
    for calls in (1, 2):  # the student of this teacher, as it is used
        d = rows[f"distilled_{calls}call"]
        assert d["nfe"] == d["calls"] == calls and d["checkpoint"] == str(student)
    paper = rows["paper_protocol"]
    assert paper["extrapolated"] and paper["steps"] == 200 and paper["timed_steps"] == 1
    used = rows["fast_windows"]  # the teacher's own noise memory, and what it costs
    assert used["noise_rho"] == 0.3 and used["windows"]
    assert used["noise_seconds_independent"] > 0 and used["noise_seconds"] > 0
    rec = rows["reconstruct"]  # the public reconstruct with the record's default: the student
    assert rec["kind"] == "distilled" and rec["checkpoint"] == student.name
    assert rec["nfe"] == 1 and rec["members"] == 2 and rec["days"] == 2
    assert rec["compiled"] is False  # as the bench decided (made eager above)
    assert rec["member_days_per_s"] == pytest.approx(4 / rec["seconds"])
    assert rec["projected_full_record_hours"] == pytest.approx(
        9132 * 8 / rec["member_days_per_s"] / 3600)
    for r in (paper, rows["fast"], rec):
        assert 0 < r["fraction_of_matmul_peak"] and r["achieved_gflops"] > 0
    assert b["matmul_gflops"] > 0 and b["memory"]["generation_peak_rss_mb"] > 100
    t = b["training"][0]
    assert t["preset"] == "test" and t["encoder_samples_per_s"] > 0
    assert t["downscaler_samples_per_s"] > 0


def test_bench_record_only_times_the_record_alone(small_dir: Path, ckpts, student,
                                                  tmp_path: Path, capsys):
    """--record-only: the reconstruction rows (the long record's speed) and nothing else."""
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--record-only", "--data", str(small_dir),
                 "--checkpoints", str(ckpts["diffusion"].parent), str(student.parent),
                 "--regions", "area1", "--device", "cpu", "--out", str(out)]) == 0
    b = json.loads(out.read_text())
    assert [r["method"] for r in b["sampling"]] == ["reconstruct"] and b["training"] == []
    assert b["sampling"][0]["kind"] == "distilled" and b["sampling"][0]["seconds"] > 0
    assert "training_peak_rss_mb" not in b["memory"] and "reconstruct" in capsys.readouterr().out
