"""``evaluate`` scores every trained kind and the interpolation floor on the same days."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finescale.app.report import KEYS, find_reports, sampler_label, write_report
from finescale.data.errors import FinescaleError
from finescale.model.config import SamplerConfig
from finescale.model.evaluation import EvalConfig, collect, evaluate
from finescale.model.generation import generate, generate_days
from tests.scripts import load_script

CFG = EvalConfig(members=2, days=2, rollout=4, sampler=SamplerConfig(steps=2))


@pytest.fixture(scope="module")
def results(small, ckpts):
    return evaluate(small, [ckpts["diffusion"].parent], CFG, progress=False)


def test_every_kind_and_interpolation_is_scored(results):
    names = [r.model for r in results]
    assert names == ["diffusion", "ablation", "unet", "transfer", "vae", "interp-bilinear"]
    for r in results:
        rec = r.record
        assert (rec["region"], rec["season"], rec["days"], rec["rollout_days"]) == (
            "area1", "JJA", 2, 4)
        assert np.isfinite(rec["r2"]) and np.isfinite(rec["variogram_error"])
        assert np.isfinite(rec["acf_error"])
        ensemble = r.model in ("diffusion", "ablation", "vae")
        assert (rec["crps"] is not None) == ensemble and rec["members"] == (2 if ensemble else 1)
    # every model is scored on the same held-out test days
    days = {tuple(r.per_day["time"]) for r in results}
    assert len(days) == 1


def test_generate_days_equals_a_one_day_generate(small, ckpts):
    s = SamplerConfig(steps=2)
    a = generate_days(small, [ckpts["diffusion"]], ["2006-06-20"], members=2, sampler=s,
                      progress=False)
    b = generate(small, [ckpts["diffusion"]], "2006-06-20", "2006-06-20", members=2,
                 sampler=s, progress=False)
    np.testing.assert_array_equal(a.DUEXTTAU.values, b.DUEXTTAU.values)


def test_report_files(results, small, tmp_path: Path):
    ident = small.manifest["generator"]
    out = write_report(results, tmp_path / "rep", variable=small.variable,
                       settings={"days": 2}, dataset=ident)
    # the dashboard finds a report only next to the data it scored
    assert [p for p, _, _ in find_reports([tmp_path / "none", out], ident)] == [out]
    other = {**ident, "config": {**ident["config"], "seed": -1}}
    assert find_reports([out], other) == [] and find_reports([out], None) == []
    # the same data generated again (another machine, another duration) still matches
    assert [p for p, _, _ in find_reports([out], {**ident, "seconds": -1.0})] == [out]
    recs = json.loads((out / "metrics.json").read_text())
    assert len(recs) == 6 and list(recs[0])[: len(KEYS)] == list(KEYS)
    assert recs[2]["model"] == "unet" and recs[2]["crps"] is None
    csv = pd.read_csv(out / "metrics.csv")
    assert csv.shape[0] == 6 and set(KEYS) <= set(csv.columns)
    md = (out / "report.md").read_text()
    assert "| area1 | JJA |" in md and "interp-bilinear" in md
    # intervals: every row its own, every other model's row its difference to diffusion
    for r in recs:
        assert r["r2_ci_low"] <= r["r2"] <= r["r2_ci_high"]
    assert "r2_vs_diffusion" not in recs[0]
    for r in recs[1:]:
        for k in ("r2", "crps", "mae", "variogram_error"):
            lo, hi = r[f"{k}_vs_diffusion_ci_low"], r[f"{k}_vs_diffusion_ci_high"]
            assert lo <= r[f"{k}_vs_diffusion"] <= hi
            assert r[f"{k}_vs_diffusion_claim"] in ("holds", "fails", "undecided")
    unet = recs[2]
    assert unet["r2_vs_diffusion"] == pytest.approx(recs[0]["r2"] - unet["r2"], abs=1e-9)
    # a deterministic model's CRPS is its MAE: the CRPS claim compares like with like
    assert unet["crps_vs_diffusion"] == pytest.approx(recs[0]["crps"] - unet["mae"], abs=1e-9)
    assert "Is the difference real?" in md and "| area1 | JJA | unet |" in md
    for kind in ("maps", "variogram", "spectrum", "acf", "lead", "rank"):
        png = out / "figures" / f"area1-JJA-{kind}.png"
        assert png.read_bytes()[:4] == b"\x89PNG" and f"figures/{png.name}" in md
    # every model's curves, as data for the dashboard's seasonal screen
    from finescale.app.report import read_curves

    cv = read_curves(out, "area1", "JJA")
    assert list(cv["model"].values) == [r.model for r in results]
    np.testing.assert_allclose(cv["gamma"].sel(model="unet"), results[2].spatial["gamma"])
    np.testing.assert_allclose(cv["lead_rmse"].sel(model="vae"),
                               results[4].temporal["lead_rmse"])
    assert cv["distance"].attrs["units"] == "km" and cv.sizes["lag"] >= 2
    assert np.isfinite(cv["pixel_acf"].sel(model="diffusion")).all()
    assert read_curves(out, "area0", "JJA") is None
    import holoviews as hv

    from finescale.app.tabs.season import figures  # the dashboard's seasonal figures

    hv.extension("bokeh")

    figs = figures(cv, "log10 DUEXTTAU", step_km=7.0)
    assert len(figs) == 5  # semivariogram, spectrum, ACF, PACF, skill by lead day
    assert {c.label for c in figs[0]} == {"truth", *[r.model for r in results]}
    # the spectrum per km on the page, as in the Diagnostics tab (per grid step in the file)
    k = cv["wavenumber"].values[1:]
    for km in figs[1]:
        assert km.kdims[0].name == "wavenumber (1/km)"
        np.testing.assert_allclose(km.dimension_values(0), k / 7.0)
    with pytest.raises(FinescaleError, match="already exists"):
        write_report(results, out, variable=small.variable, settings={})


def test_the_pages_r2_is_the_reports_for_the_same_day_members_and_seed(small, ckpts):
    """The dashboard's status line and ``finescale evaluate`` score one day alike."""
    import datetime as dt

    from finescale.app.service import GenerationService, metrics_for, open_selection

    cfg = EvalConfig(members=3, days=1, rollout=0, interp=(), sampler=SamplerConfig(steps=2),
                     seed=5, boot=0)
    rep = evaluate(small, [ckpts["diffusion"]], cfg, progress=False)[0]
    day = pd.Timestamp(rep.per_day["time"].iloc[0])
    page = open_selection(small, (ckpts["diffusion"].parent,))
    page.region, page.model = "area1", "diffusion"
    page.date = dt.date(day.year, day.month, day.day)
    page.members, page.steps, page.seed, page.precision = 3, 2, 5, "fp32"
    m = metrics_for(GenerationService(page).generate(), small.variable)
    assert m["r2"] == pytest.approx(rep.record["r2"], abs=1e-9)
    assert m["r2"] == pytest.approx(rep.per_day["r2"].iloc[0], abs=1e-9)
    assert m["rmse"] == pytest.approx(rep.record["rmse"], abs=1e-9)
    page.seed = 6  # other members: another number (the test can tell them apart)
    assert metrics_for(GenerationService(page).generate(), small.variable)["r2"] != pytest.approx(
        rep.record["r2"], abs=1e-9)


def test_val_split_scores_validation_days_and_stays_out_of_the_dashboard(
        small, ckpts, results, tmp_path: Path):
    from finescale.data.splits import SplitConfig, make_split
    from finescale.model.checkpoints import read_manifest

    cfg = EvalConfig(members=2, days=2, rollout=0, split="val", interp=(),
                     sampler=SamplerConfig(steps=2))
    val = evaluate(small, [ckpts["unet"]], cfg, progress=False)
    split = make_split(pd.DatetimeIndex(small.region("area1").fine["time"].values), "JJA",
                       SplitConfig(**read_manifest(ckpts["unet"])["split"]))
    days = list(val[0].per_day["time"])
    in_jja = split.val[split.val.month.isin([6, 7, 8])]
    assert days == list(in_jja[:2]) and not set(days) & set(split.test)
    ident = small.manifest["generator"]
    out = write_report(val, tmp_path / "val", variable=small.variable,
                       settings={"split": "val"}, dataset=ident)
    assert find_reports([out], ident) == []  # choosing settings, not a test-day score
    with pytest.raises(FinescaleError, match="split must be"):
        EvalConfig(split="train")


def test_collect_refuses_nothing_and_duplicates(ckpts, tmp_path: Path):
    with pytest.raises(FinescaleError, match="no downscaler checkpoints"):
        collect([tmp_path])
    with pytest.raises(FinescaleError, match="not found"):
        collect([tmp_path / "nope"])
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in (".safetensors", ".json"):
        src = ckpts["unet"].with_suffix(suffix)
        (copy / src.name).write_bytes(src.read_bytes())
    with pytest.raises(FinescaleError, match="two unet checkpoints"):
        collect([ckpts["unet"].parent, copy])


def test_parallel_workers_give_the_serial_results(small, ckpts, device, tmp_path: Path):
    """Pairs scored in worker processes come back complete, in pair order, with the serial
    scores (a second pair: a U-Net of another season)."""
    from finescale.model.config import get_preset
    from finescale.model.training import TrainSpec, train_downscaler

    other = train_downscaler(small, TrainSpec("unet", "area1", "MAM", get_preset("test"),
                                              tmp_path, device), progress=False)
    paths = [ckpts["unet"], other]
    cfg = EvalConfig(members=1, days=2, rollout=0, sampler=SamplerConfig(steps=2))
    serial = evaluate(small, paths, cfg, progress=False)
    parallel = evaluate(small, paths, cfg, progress=False, workers=2)
    assert [(r.model, r.season) for r in parallel] == [(r.model, r.season) for r in serial]
    assert {r.season for r in parallel} == {"JJA", "MAM"}
    for a, b in zip(serial, parallel, strict=True):
        assert a.record["r2"] == pytest.approx(b.record["r2"], abs=1e-5)
    with pytest.raises(FinescaleError, match="workers"):
        evaluate(small, paths, cfg, progress=False, workers=0)


def test_a_cached_evaluation_resumes_without_generating_again(small, ckpts, results,
                                                              tmp_path: Path, monkeypatch):
    """A second run over the same cache scores the kept fields: the same records, and no
    model generates; another ensemble size is another entry, not a stale hit."""
    import finescale.model.evaluation as me

    paths = [ckpts["diffusion"], ckpts["unet"]]
    first = evaluate(small, paths, CFG, progress=False, cache=tmp_path / "c")
    # one entry per model's test days, one for the U-Net's validation days (its dressing)
    assert len(list((tmp_path / "c").iterdir())) == 3
    by = {r.model: r.record for r in results}
    for r in first:  # kept and scored alike: the uncached run's scores
        assert r.record["r2"] == pytest.approx(by[r.model]["r2"], abs=1e-9)

    def no(*a, **k):
        raise AssertionError("generated again")

    monkeypatch.setattr(me, "generate_days", no)
    monkeypatch.setattr(me, "generate_pieces", no)
    again = evaluate(small, paths, CFG, progress=False, cache=tmp_path / "c")
    for a, b in zip(first, again, strict=True):
        if a.model.startswith("interp"):  # computed again, in its own time
            a.record.pop("seconds"), b.record.pop("seconds")
        assert a.record == b.record  # a model's generation seconds too: kept with the fields
    with pytest.raises(AssertionError, match="generated again"):
        evaluate(small, paths, dataclasses.replace(CFG, members=3), progress=False,
                 cache=tmp_path / "c")
    # the noise memory a model samples with is in the key, also when it is the kind's own
    from finescale.model.config import OWN_NOISE_RHO

    monkeypatch.setitem(OWN_NOISE_RHO, "diffusion", 0.5)
    with pytest.raises(AssertionError, match="generated again"):
        evaluate(small, paths, CFG, progress=False, cache=tmp_path / "c")
    # other data or other weights are other entries too
    from finescale.model.evalcache import entry_key

    days = pd.DatetimeIndex(first[0].per_day["time"])
    args = (days, None, 2, CFG.sampler, 0, "cpu")
    keys = {entry_key(ckpts["diffusion"], "data-a", *args),
            entry_key(ckpts["diffusion"], "data-b", *args),
            entry_key(ckpts["unet"], "data-a", *args)}
    assert len(keys) == 3



def test_a_model_stopped_inside_its_generation_resumes_from_its_last_piece(
        small, ckpts, tmp_path: Path, monkeypatch):
    """Hours of one model's generation are kept piece by piece: a run stopped among its
    test days, or inside its roll-out, generates only the rest when run again, and the
    whole equals one pass."""
    import finescale.model.evalcache as mc
    import finescale.model.evaluation as me
    from finescale.model.evalcache import GenerationCache

    monkeypatch.setattr(mc, "PART_DAYS", 1)
    monkeypatch.setattr(me, "ROLL_PIECE", 1)
    days = pd.DatetimeIndex(["2006-06-20", "2006-06-23"])
    roll = pd.date_range("2006-06-24", periods=2)
    args = (small, ckpts["diffusion"], "diffusion", "area1", "JJA", days, roll, CFG, "cpu",
            None)
    whole, whole_roll, _ = me._generated(*args, None)  # no cache: one pass, nothing kept
    once = generate_days(small, [ckpts["diffusion"]], days, members=2, sampler=CFG.sampler,
                         progress=False)
    np.testing.assert_array_equal(whole.DUEXTTAU.values, once.DUEXTTAU.values)
    assert list(whole.time.values) == list(once.time.values)
    one_roll = generate(small, [ckpts["diffusion"]], "2006-06-24", "2006-06-25", members=2,
                        sampler=CFG.sampler, progress=False)
    np.testing.assert_array_equal(whole_roll.DUEXTTAU.values, one_roll.DUEXTTAU.values)

    real_days, real_put, calls = me.generate_days, GenerationCache.put_piece, []

    def stop_at_second_day(*a, **k):
        calls.append(list(a[2]))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the session ends here
        return real_days(*a, **k)

    def stop_after_first_roll_piece(self, *a, **k):
        real_put(self, *a, **k)
        if a[4] == "roll-0000":
            raise KeyboardInterrupt

    cache = GenerationCache(tmp_path / "c")
    monkeypatch.setattr(me, "generate_days", stop_at_second_day)
    with pytest.raises(KeyboardInterrupt):
        me._generated(*args, cache)
    calls.clear()
    monkeypatch.setattr(me, "generate_days", lambda *a, **k: calls.append(list(a[2]))
                        or real_days(*a, **k))
    monkeypatch.setattr(GenerationCache, "put_piece", stop_after_first_roll_piece)
    with pytest.raises(KeyboardInterrupt):
        me._generated(*args, cache)
    assert calls == [[days[1]]]  # the first day was kept
    calls.clear()
    monkeypatch.setattr(GenerationCache, "put_piece", real_put)
    real_pieces, resumed = me.generate_pieces, []
    monkeypatch.setattr(me, "generate_pieces", lambda *a, **k: resumed.append(
        k["resume"][0]) or real_pieces(*a, **k))
    test, rolled, seconds = me._generated(*args, cache)
    assert calls == [] and resumed == [1]  # the roll-out went on after its first day
    np.testing.assert_array_equal(test.DUEXTTAU.values, whole.DUEXTTAU.values)
    np.testing.assert_array_equal(rolled.DUEXTTAU.values, whole_roll.DUEXTTAU.values)
    assert seconds > 0 and not (tmp_path / "c" / ".pieces").exists()  # the entry is whole
    assert len(list((tmp_path / "c").iterdir())) == 1


def test_reports_of_both_samplers_are_found_and_told_apart(results, small, tmp_path: Path):
    ident = small.manifest["generator"]
    win = write_report(results, tmp_path / "win", variable=small.variable,
                       settings={"days": 2, "windows": True, "window_overlap": 0.0,
                                 "solver": "dpm2m", "steps": 12}, dataset=ident)
    lap = write_report(results, tmp_path / "lap", variable=small.variable,
                       settings={"days": 2, "windows": True, "steps": 12},
                       dataset=ident)  # before overlap and solver
    old = write_report(results, tmp_path / "old", variable=small.variable,
                       settings={"days": 2}, dataset=ident)  # before `windows` existed
    found = find_reports([tmp_path / "none", win, lap, old], ident)
    assert [p for p, _, _ in found] == [win, lap, old]
    assert [sampler_label(st) for _, st, _ in found] == [
        "windows · dpm2m 12", "windows, overlap 0.25 · heun 12", "whole map · heun"]
    assert sampler_label({"windows": True, "window_overlap": 0, "solver": "dpm2m", "steps": 12,
                          "noise_rho": 0.5}) == "windows · dpm2m 12 · noise ρ 0.5"
    assert sampler_label({"windows": True, "window_overlap": 0, "solver": "dpm2m", "steps": 12,
                          "noise_rho": None}) == "windows · dpm2m 12 · noise memory"
    assert find_reports([win, old], {**ident, "config": {}}) == []


def test_the_season_table_shows_the_intervals(results):
    """The dashboard's seasonal table: each model's R² interval and its claim verdicts."""
    from finescale.app.report import records
    from finescale.app.tabs.season import INTERVAL_COLUMNS, interval_cells

    recs = records(results)
    own = interval_cells(recs[0])
    assert list(own) == [INTERVAL_COLUMNS[0]]  # diffusion: its own interval only
    lo, hi = (float(x) for x in own[INTERVAL_COLUMNS[0]].split(" – "))
    assert lo <= recs[0]["r2"] + 5e-4 and recs[0]["r2"] - 5e-4 <= hi
    unet = interval_cells(recs[2])
    # the claim's R²: diffusion's with infinitely many members against the U-Net's
    assert unet[INTERVAL_COLUMNS[1]].startswith(f"{recs[2]['r2_inf_vs_diffusion']:+.3f} [")
    verdicts = unet[INTERVAL_COLUMNS[2]].split(" · ")
    assert len(verdicts) == 3 and set(verdicts) <= {"holds", "fails", "undecided"}
    assert interval_cells({"r2": 0.5}) == {}  # a report from before the intervals
    from finescale.app.tabs.season import claims_note

    assert "infinitely many members" in claims_note(recs)
    # a report from before the fair claims: its own verdicts, and a note saying what they are
    old = {"model": "unet", "r2_vs_diffusion": 0.01, "r2_vs_diffusion_ci_low": 0.0,
           "r2_vs_diffusion_ci_high": 0.02, "r2_vs_diffusion_claim": "undecided",
           "crps_vs_diffusion_claim": "holds", "variogram_error_vs_diffusion_claim": "fails"}
    assert interval_cells(old)[INTERVAL_COLUMNS[2]] == "undecided · holds · fails"
    assert "predates" in claims_note([old])
    # the note is about the rows shown: a live evaluation's fair rows beside an old report
    assert "predates" not in claims_note([*recs, old])
    assert "Rows of an older report keep its own claims" in claims_note([*recs, old])
    assert "older report" not in claims_note(recs)


def test_the_evidence_page_lists_every_model_and_claim(results, small, tmp_path: Path):
    """docs/evidence.md is printed from a report: every model of the pair, in the paper's
    order, and each baseline's verdict on the three claims."""
    rt = _report_table()
    out = write_report(results, tmp_path / "rep", variable=small.variable,
                       settings={"days": 2, "members": 2, "rollout": 4, "boot": 2000,
                                 "command": "finescale evaluate X"},
                       dataset=small.manifest["generator"])
    page = rt.page(out)
    rows = [line.split(" | ")[0].lstrip("| ") for line in page.splitlines()
            if line.startswith("| ") and not line.startswith("| model")
            and "[" in line.split(" | ")[1]]
    assert rows[:6] == ["diffusion", "ablation (no encoder features)", "U-Net",
                        "transfer (U-Net + encoder features)", "VAE", "bilinear"]
    assert "finescale evaluate X" in page and "2 members, 4-day strict roll-out" in page
    assert "independent days' noise" in page  # a report from before noise memory
    assert rt._noise({"noise_rho": 0.3}) == "noise memory ρ 0.3"
    own = {"noise_rho": None, "noise_rho_by_kind": {"diffusion": 0.3, "distilled": 0.0}}
    assert rt._noise(own) == "each model's own noise memory ρ (diffusion 0.3, distilled 0)"
    recs = json.loads((out / "metrics.json").read_text())
    from finescale.app.claims import verdict_text

    for r in recs[1:]:
        # the fair claims' verdicts, each with its Holm-adjusted one where that differs
        verdicts = " ".join(verdict_text(r, k) for k in ("r2_inf", "crps_prob",
                                                          "variogram_error")).split()
        start = f"| area1 | JJA | {r['model']} |"
        line = next(x for x in page.splitlines() if x.startswith(start))
        words = [w.strip("():") for w in line.split()]
        assert [w for w in words if w in ("holds", "fails", "undecided")] == [
            w.strip("():") for w in verdicts if w.strip("():") in ("holds", "fails",
                                                                   "undecided")]
    best_r2 = max(r["r2"] for r in recs)
    assert f"**{best_r2:.3f}**" in page
    # the fair scores the claims use, beside: an ensemble's R² ∞ and fair CRPS, a
    # deterministic model's own R² and dressed CRPS
    assert "| R² ∞ | CRPS fair / dressed |" in page
    for r in recs:
        line = next(x for x in page.splitlines()
                    if x.startswith(f"| {rt.NAMES.get(r['model'], r['model'])} | "))
        cells = [c.strip("* ") for c in line.split(" | ")]
        inf = r["r2_inf"] if r.get("r2_inf") is not None else r["r2"]
        prob = r["crps_fair"] if r.get("crps_fair") is not None else r["crps_dressed"]
        assert cells[4:6] == [f"{inf:.3f}", f"{prob:.4f}"], r["model"]
    # the paper's table: R², RMSE, MAE, NSE, KGE of every model, as in the report
    paper = page.split("## The paper's table")[1].split("## ")[0]
    assert "| R² | RMSE | MAE | NSE | KGE |" in paper
    for r in recs:
        line = next(x for x in paper.splitlines()
                    if x.startswith(f"| area1 | JJA | {rt.NAMES.get(r['model'], r['model'])} |"))
        cells = [c.strip("* ") for c in line.split(" | ")[3:]]
        cells[-1] = cells[-1].rstrip(" |*")
        assert cells == [f"{r[k]:.3f}" for k in ("r2", "rmse", "mae", "nse", "kge")]


def _report_table():
    return load_script("report_table")


def test_the_committed_evidence_page_is_its_report(monkeypatch):
    """docs/evidence.md is the page of the committed evidence report, not edited by hand: the
    report scripts/evidence.sh writes (its own folder until the ship step moves it)."""
    monkeypatch.chdir(Path(__file__).parents[2])  # the page names the report as the script does
    report = Path("assets/report")
    assert _report_table().page(report) + "\n" == Path("docs/evidence.md").read_text()  # print()


def test_the_docs_sentences_that_quote_the_report_are_the_reports(monkeypatch):
    """README's and docs/evaluation.md's generated blocks (the claims in words, the model
    table) are what scripts/report_table.py makes from the report each names: a report
    made again without filling them in fails here."""
    monkeypatch.chdir(Path(__file__).parents[2])
    rt = _report_table()
    for name in ("README.md", "docs/evaluation.md"):
        text = Path(name).read_text()
        assert text.count(rt.BEGIN) >= 1, name
        assert rt.fill(text) == text, f"{name}: run scripts/report_table.py --fill {name}"
    stale = Path("README.md").read_text().replace("holds in 39 of 48", "holds in 40 of 48")
    assert rt.fill(stale) != stale
    with pytest.raises(SystemExit, match="bad generated block"):
        rt.fill("<!-- generated: nonsense assets/report -->\nx\n<!-- /generated -->")


def test_the_claims_in_words_count_name_and_bound_the_verdicts():
    """The paragraph counts each claim's verdicts (Holm-adjusted where the report has
    them), names what fails with a bound that holds (rounded up), and gives the encoder's
    gain over the ablation and the pairs' best NSE."""
    from finescale.app.claims import claims_paragraph

    def rec(model, season, r2="holds", d_r2=0.01, holm=None, nse=0.5):
        return {"model": model, "region": "area1", "season": season, "r2": 0.9, "nse": nse,
                "spread_skill": 1.0 if model == "diffusion" else None,
                "r2_inf_vs_diffusion": d_r2, "r2_inf_vs_diffusion_claim": r2,
                "r2_inf_vs_diffusion_claim_holm": holm or r2,
                "r2_vs_diffusion_claim": r2, "crps_fair": 0.1,
                "crps_prob_vs_diffusion": -0.006, "crps_prob_vs_diffusion_claim": "holds",
                "variogram_error_vs_diffusion": -0.01,
                "variogram_error_vs_diffusion_claim": "holds"}

    recs = [{"model": "diffusion", "region": "area1", "season": s, "r2": r, "nse": 0.8,
             "spread_skill": 1.02} for s, r in (("DJF", 0.85), ("JJA", 0.91))]
    recs += [rec("transfer", "JJA", "fails", -0.0205, nse=0.9),
             rec("transfer", "DJF", "fails", -0.012, holm="undecided"),
             rec("ablation", "DJF", d_r2=0.02), rec("ablation", "JJA", d_r2=0.009)]
    text = " ".join(claims_paragraph(recs).split())
    assert "R² is 0.850–0.910 (spread/skill 1.02)" in text  # a range only where it is one
    # Holm turned area1 DJF's fail into undecided; the bound is 0.021, not 0.020
    assert "**R² (∞ members)** holds in 2 of 4 comparisons; fails against transfer (area1 " \
           "JJA, by ≤ 0.021); undecided against transfer (area1 DJF)." in text
    assert "holds in 4 of 4" in text
    assert "(diffusion − ablation): R² +0.009 to +0.020, CRPS −6.0 %." in text
    assert "diffusion in 1 of 2 pairs, transfer (area1 JJA)" in text
    assert "Holm-adjusted" in text


def test_the_verdict_matrix_has_a_pair_per_column_in_season_order():
    """Each cell: the three verdicts of one model in one pair; a fail stands out; a pair
    the model was not scored in is a dash, not a shifted column."""
    from finescale.app.claims import claims_matrix

    def rec(model, season, r2="holds", crps="holds", vario="undecided"):
        return {"model": model, "region": "area0", "season": season,
                "r2_vs_diffusion_claim": r2, "crps_vs_diffusion_claim": crps,
                "variogram_error_vs_diffusion_claim": vario}

    text = claims_matrix([rec("unet", "JJA", r2="fails"), rec("unet", "DJF"),
                          rec("vae", "DJF", vario="holds")])
    head, _, unet, vae = text.splitlines()
    assert head == "| diffusion − | area0 DJF | area0 JJA |"
    assert unet == "| unet | holds · holds · undecided | **fails** · holds · undecided |"
    assert vae == "| vae | holds · holds · holds | — |"
    assert claims_matrix([]) == ""


def test_a_student_is_scored_but_is_no_claim_of_the_paper(results):
    """A distilled student's row keeps its intervals to its teacher, but the claim tables
    (the paper's claims: diffusion beats each baseline) leave it out."""
    from finescale.app.claims import claims_matrix, claims_summary, claims_table
    from finescale.app.report import records

    recs = records(results)
    student = {**next(r for r in recs if r["model"] == "unet"), "model": "distilled"}
    both = [*recs, student]
    for text in (claims_table(both), claims_summary(both), claims_matrix(both)):
        assert "unet" in text and "distilled" not in text
    assert claims_table([recs[0], student]).startswith("No intervals")
    from finescale.app.tabs.season import INTERVAL_COLUMNS, interval_cells

    cells = interval_cells(student)  # the season table: its interval, no claim verdict
    assert INTERVAL_COLUMNS[1] in cells and INTERVAL_COLUMNS[2] not in cells


def test_every_interval_is_rebuilt_from_the_shipped_files(results, small, tmp_path: Path,
                                                          capsys):
    """The report ships what its intervals came from: `evaluate --rebuild` recomputes every
    interval and verdict from metrics.json, meta.json and daily.nc alone, and gets the same;
    rows name their weights and split, ensembles carry the size-fair scores."""
    from finescale.app.cli import main

    rep = write_report(results, tmp_path / "rep", variable="DUEXTTAU",
                       settings={"boot": CFG.boot, "seed": CFG.seed})
    assert main(["evaluate", "--rebuild", str(rep), "--out", str(tmp_path / "re")]) == 0
    old = json.loads((rep / "metrics.json").read_text())
    new = json.loads((tmp_path / "re" / "metrics.json").read_text())
    assert [r.keys() for r in new] == [r.keys() for r in old]
    derived = [k for k in old[1] if k.endswith(("_ci_low", "_ci_high", "_claim"))]
    assert len(derived) > 10
    for a, b in zip(old, new, strict=True):
        for k in derived:
            assert a.get(k) == pytest.approx(b.get(k)) if not str(a.get(k)).isalpha() \
                else a.get(k) == b.get(k), k
    diff = next(r for r in old if r["model"] == "diffusion")
    assert diff["split"] == "test" and len(diff["weights_sha256"]) == 64
    assert 0 < diff["r2_inf"] <= 1 and diff["crps_fair"] > 0
    interp = next(r for r in old if r["model"].startswith("interp"))
    assert interp["weights_sha256"] is None and interp["r2_inf"] is None
    days = pd.read_csv(rep / "per_day.csv")
    assert {"crps", "spread", "variogram_error"} <= set(days.columns)
    # a report from before the per-day statistics: one line
    (rep / "daily.nc").unlink()
    capsys.readouterr()
    assert main(["evaluate", "--rebuild", str(rep), "--out", str(tmp_path / "x")]) == 2
    assert "cannot be rebuilt" in capsys.readouterr().err


def test_a_model_held_out_in_time_is_scored_on_its_season_year_only(small, ckpts, device,
                                                                   tmp_path: Path):
    """Trained with JJA 2006 held out, a model is scored on JJA 2006 days only, its strict
    roll-out runs through that season and never reaches a training day, and the rows say
    ``time-heldout``. Scored in one run beside the paper's split, it is its own group: its
    own days, comparisons only within the group, its own curves and columns in the report,
    rebuilt from the shipped files, and its roll-out is the one the Season tab shows."""
    from finescale.app.cli import main
    from finescale.app.report import read_curves
    from finescale.app.tabs.season import figures
    from finescale.data.splits import HELDOUT, SplitConfig, make_split
    from finescale.model.config import get_preset
    from finescale.model.training import TrainSpec, train_downscaler

    split = SplitConfig(heldout_year=2006)
    path = train_downscaler(small, TrainSpec("unet", "area1", "JJA", get_preset("test"),
                                             tmp_path, device, split=split), progress=False)
    cfg = EvalConfig(members=1, days=0, rollout=12, interp=("bilinear",),
                     sampler=SamplerConfig(steps=2), boot=0)
    res = evaluate(small, [path], cfg, progress=False)
    assert [r.record["split"] for r in res] == ["time-heldout"] * 2
    assert [r.record["heldout_year"] for r in res] == [2006] * 2
    fine = pd.DatetimeIndex(small.region("area1").fine["time"].values)
    held = make_split(fine, "JJA", split)
    days = pd.DatetimeIndex(res[0].per_day["time"])
    assert days.equals(held.test) and (days.year == 2006).all() and days.size == 92
    assert not days.isin(held.train.union(held.val)).any()
    assert res[0].record["rollout_days"] == days.size  # through the whole season-year

    both = evaluate(small, [path, ckpts["diffusion"], ckpts["unet"]],
                    dataclasses.replace(cfg, members=2, days=3, rollout=5, boot=50),
                    progress=False)
    assert [(r.model, r.split) for r in both] == [
        ("diffusion", "test"), ("unet", "test"), ("interp-bilinear", "test"),
        ("unet", HELDOUT), ("interp-bilinear", HELDOUT)]
    assert pd.DatetimeIndex(both[3].per_day["time"]).equals(held.test[:3])
    assert not pd.DatetimeIndex(both[1].per_day["time"]).isin(held.test).all()
    # compared with diffusion within its group only: the held-out group has no diffusion
    assert "r2_vs_diffusion" in both[1].record and "r2_vs_diffusion" not in both[3].record
    assert "heldout_year" not in both[0].record and both[3].record["heldout_year"] == 2006
    rep = write_report(both, tmp_path / "rep", variable=small.variable,
                       settings={"boot": 50, "seed": 0})
    md = (rep / "report.md").read_text()
    assert "| area1 | JJA held out |" in md and "held out in time" in md
    assert "persistence in sample" in md and "their roll-out curves are out of sample" in md
    assert (rep / "figures" / "area1-JJA-heldout-acf.png").exists()
    test_cv, held_cv = read_curves(rep, "area1", "JJA"), read_curves(rep, "area1", "JJA", HELDOUT)
    assert list(test_cv["model"].values) == ["diffusion", "unet", "interp-bilinear"]
    assert list(held_cv["model"].values) == ["unet", "interp-bilinear"]
    np.testing.assert_allclose(held_cv["pixel_acf"].sel(model="unet"),
                               both[3].temporal["pixel_acf"])
    assert set(pd.read_csv(rep / "per_day.csv")["split"]) == {"test", HELDOUT}
    assert main(["evaluate", "--rebuild", str(rep), "--out", str(tmp_path / "re")]) == 0
    old = json.loads((rep / "metrics.json").read_text())
    new = json.loads((tmp_path / "re" / "metrics.json").read_text())
    assert [(r["model"], r["split"], r["r2_ci_low"]) for r in new] == [
        (r["model"], r["split"], pytest.approx(r["r2_ci_low"])) for r in old]
    # the Season tab: spatial curves of the random days, the roll-out held out in time
    import holoviews as hv

    hv.extension("bokeh")
    titles = [f.opts.get().kwargs.get("title", "") for f in figures(test_cv, "log10", 7.0,
                                                                      held_cv)]
    assert any("ACF of the roll-out (held out in time)" in t for t in titles), titles
    assert not any("in sample" in t for t in titles)
    assert any("in sample" in t for t in (f.opts.get().kwargs.get("title", "")
                                          for f in figures(test_cv, "log10", 7.0)))
