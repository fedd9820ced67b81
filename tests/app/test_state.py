"""The page's selection and its service: change parameters, trigger events, assert on results."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from finescale.app.selection import Selection
from finescale.app.service import GenerationService, metrics_for, open_selection
from finescale.data.errors import FinescaleError
from finescale.data.seasons import in_season


@pytest.fixture
def sel(small, ckpts):
    return open_selection(small, (ckpts["diffusion"].parent,))


@pytest.fixture
def svc(sel):
    return GenerationService(sel)


def test_models_listed_per_region(sel, svc):
    sel.region = "area1"
    assert sel.param.model.objects[:5] == ["diffusion", "ablation", "unet", "transfer",
                                                "vae"]
    sel.region = "area0"  # no checkpoints trained for area0 in the fixture
    assert sel.param.model.objects == ["interp:bilinear", "interp:nearest",
                                            "interp:bicubic"]


def test_season_and_date_follow_each_other(sel, svc):
    sel.region = "area1"
    sel.season = "DJF"
    assert in_season(pd.DatetimeIndex([sel.date]), "DJF").all()
    sel.date = dt.date(2006, 7, 3)
    assert sel.season == "JJA"
    lo, hi = sel.param.date.bounds
    assert lo == dt.date(2004, 6, 1) and hi == dt.date(2007, 8, 31)


def test_generate_is_cached_and_fields(sel, svc):
    sel.region, sel.model = "area1", "diffusion"
    sel.date, sel.members, sel.steps = dt.date(2006, 7, 3), 3, 2
    a = svc.generate()
    assert svc.generate() is a  # instant on revisit
    f = svc.fields(a)
    assert f["generated"].shape == (64, 64) and f["spread"] is not None
    assert f["truth"] is not None and f["members"].sizes["member"] == 3
    sel.show = "1"
    np.testing.assert_array_equal(svc.fields(a)["generated"], a.DUEXTTAU[1, 0])
    m = metrics_for(a, "DUEXTTAU")
    assert 0 <= m["r2"] <= 1 and m["rmse"] > 0
    # the page's scores are the report's (the mean of the members' log10, not the log10 of
    # their mean): one definition for both
    from finescale.data.evaluation import check_generated, pointwise

    rec = pointwise(*check_generated(a, "DUEXTTAU"))
    assert (m["r2"], m["rmse"]) == (rec["r2"], rec["rmse"])
    # the map of "the ensemble mean" is the mean that is scored (geometric for log data), so
    # the Diagnostics scatter's R² is the status line's
    from finescale.data.scores import r2_pearson

    sel.show = "mean"
    f = svc.fields(a)
    assert r2_pearson(np.log10(f["generated"]), np.log10(f["truth"])) == pytest.approx(
        m["r2"], abs=1e-6)
    assert not np.allclose(f["generated"], a.DUEXTTAU[:, 0].mean("member"))


def test_day_outside_the_fine_record(sel, svc):
    sel.region, sel.model = "area1", "interp:bilinear"
    sel.date = dt.date(2004, 7, 1)
    f = svc.fields(svc.generate())
    assert f["truth"] is None and np.isfinite(f["generated"].values).all()


def test_missing_checkpoint_is_a_clear_error(sel, svc):
    sel.region, sel.model = "area1", "unet"
    sel.date = dt.date(2006, 1, 10)  # DJF: only JJA models in the fixture
    with pytest.raises(FinescaleError, match="no unet checkpoint for area1 DJF"):
        svc.validate()


def test_date_player_always_shows_the_day_on_screen(small, ckpts):
    from finescale.app.dashboard import Dashboard
    from finescale.app.selection import TrainRequest

    s = open_selection(small, (ckpts["diffusion"].parent,))
    s.region, s.model = "area1", "interp:bilinear"
    board = Dashboard(selection=s, train=TrainRequest())
    player = board.sidebar.player
    for day in (dt.date(2004, 7, 1), dt.date(2006, 7, 3)):  # before / inside the fine record
        s.date = day
        assert player.value == day and day in player.options
        assert player.name.endswith(str(day))  # the label names the day on screen
    s.season = "DJF"
    assert player.value == s.date and in_season(pd.DatetimeIndex([s.date]), "DJF").all()
    assert player.name == f"Animate DJF (fine record): {s.date}"
    player.value = player.options[0]  # playing moves the shown day
    assert s.date == player.options[0] and player.name.endswith(str(s.date))
    s.date = dt.date(2006, 7, 12)  # a day picked in another season stays the day shown
    assert s.date == dt.date(2006, 7, 12) and s.season == "JJA"
    assert player.value == s.date


def test_precision_is_part_of_the_choice(sel, svc):
    from finescale.model.device import fast_precision, resolve_device

    assert sel.precision == fast_precision(resolve_device("auto"))
    sel.region, sel.model = "area1", "diffusion"
    sel.date, sel.steps = dt.date(2006, 7, 3), 2
    sel.precision = "fp32"
    a = svc.generate()
    sel.precision = "bf16"
    b = svc.generate()
    assert a is not b and b.attrs["precision"] == "bf16"  # not served from fp32's cache


def test_windowed_sampling_is_part_of_the_choice(sel, svc):
    sel.region, sel.model = "area1", "diffusion"
    sel.date, sel.steps, sel.windows = dt.date(2006, 7, 3), 2, False
    a = svc.generate()
    sel.windows = True
    b = svc.generate()
    assert a is not b and (a.attrs["sampler_windows"], b.attrs["sampler_windows"]) == (0, 1)
    assert not np.allclose(a["DUEXTTAU"].values, b["DUEXTTAU"].values)  # another sampler


def test_noise_memory_is_part_of_the_choice(sel, svc):
    sel.region, sel.model = "area1", "diffusion"
    sel.date, sel.steps, sel.noise_rho = dt.date(2006, 7, 3), 2, 0.0
    a = svc.generate()
    sel.noise_rho = 0.5
    b = svc.generate()
    assert a is not b and (a.attrs["sampler_noise_rho"], b.attrs["sampler_noise_rho"]) == (0, 0.5)
    assert not np.allclose(a["DUEXTTAU"].values, b["DUEXTTAU"].values)  # other noise


def test_day_scores_list_every_model_generated_for_the_day(small, ckpts):
    from finescale.app.dashboard import Dashboard
    from finescale.app.selection import TrainRequest

    s = open_selection(small, (ckpts["diffusion"].parent,))
    s.region, s.date, s.steps = "area1", dt.date(2006, 7, 3), 2
    board = Dashboard(selection=s, train=TrainRequest())
    s.model = "unet"
    s.model = "diffusion"  # the U-Net's day is in the cache now
    models = set(board.service.day_scores()["model"])
    assert {"unet", "diffusion", "interp:bilinear"} <= models


def test_checkpoint_comparison_refuses_another_region_or_season(sel, svc, ckpts):
    sel.region, sel.date = "area1", dt.date(2006, 7, 3)
    assert svc.check_checkpoint(ckpts["unet"]) == ckpts["unet"]
    comparable = sel.catalogue.comparable(sel.region, sel.day_season)
    assert {c.kind for c in comparable} >= {"diffusion", "unet"}
    sel.region = "area0"  # the fixture's models are area1's
    with pytest.raises(FinescaleError, match="is for area1 JJA; the day shown is area0"):
        svc.check_checkpoint(ckpts["unet"])
    with pytest.raises(FinescaleError, match="encoder, not a downscaler"):
        svc.check_checkpoint(ckpts["encoder"])


def test_distilled_is_the_default_where_a_student_exists(small, ckpts, student, tmp_path):
    import shutil

    for p in (ckpts["diffusion"], student):  # the teacher for JJA and DJF, a student for JJA
        for f in (p, p.with_suffix(".json")):
            shutil.copy(f, tmp_path / f.name)
    djf = tmp_path / "area1-DJF-diffusion.json"
    djf.write_text(ckpts["diffusion"].with_suffix(".json").read_text().replace('"JJA"', '"DJF"'))
    shutil.copy(ckpts["diffusion"], djf.with_suffix(".safetensors"))
    s = open_selection(small, (tmp_path,), region="area1")
    assert s.season == "JJA" and s.model == "distilled"
    s.seed = 1  # other choices leave the model alone
    assert s.model == "distilled" and s.note == ""
    s.season = "DJF"  # no student for DJF: its teacher, with a note
    assert s.model == "diffusion" and "No distilled model for area1 DJF" in s.note
    GenerationService(s).validate()
    s.note = ""
    s.date = dt.date(2006, 7, 3)  # back in the student's season: the student is back
    assert (s.season, s.model) == ("JJA", "distilled") and "distilled model of area1 JJA" \
        in s.note
    s.date = dt.date(2006, 1, 10)  # the date picker leaving the student's season does the same
    assert (s.season, s.model) == ("DJF", "diffusion") and "DJF" in s.note
    GenerationService(s).validate()
    s.region = "area0"  # a region without these models: another model, then area1 again
    assert s.model != "distilled"
    s.region = "area1"
    s.season = "JJA"
    assert s.model == "distilled"
    s.model = "diffusion"  # the user's own pick stays in every season
    s.season = "DJF"
    s.season = "JJA"
    assert s.model == "diffusion"
    # no teacher for the season either: the choice stays, and validate() names what is missing
    only_jja = open_selection(small, (ckpts["diffusion"].parent, student.parent),
                              region="area1")
    only_jja.season = "DJF"
    assert only_jja.model == "distilled" and only_jja.note == ""
    with pytest.raises(FinescaleError, match="no distilled checkpoint for area1 DJF"):
        GenerationService(only_jja).validate()
    # a model asked for by the API stays, as a pick in the sidebar does
    asked = open_selection(small, (tmp_path,), region="area1", model="diffusion")
    assert asked.model == "diffusion"
    asked.season = "DJF"
    asked.season = "JJA"
    assert asked.model == "diffusion"
    # without a student the first listed model is the default
    plain = open_selection(small, (ckpts["diffusion"].parent,), region="area1")
    assert plain.model == "diffusion"


def test_samplers_wait_for_a_free_slot_and_one_pass_models_do_not(sel, svc, monkeypatch):
    """While a generation holds the server's one slot, a diffusion day waits (and leaves the
    queue when cancelled); interpolation and the U-Net are made at once."""
    import threading

    from finescale.app import jobs

    monkeypatch.setattr(jobs, "_SLOTS", jobs.Slots(1))
    sel.region, sel.members = "area1", 1
    with jobs.generation_slots().held():  # another page's generation
        for model in ("interp:bilinear", "unet"):
            sel.model = model
            done = threading.Event()
            threading.Thread(target=lambda d=done: (svc.generate(), d.set()),
                             daemon=True).start()
            assert done.wait(60), f"{model} waited for the diffusion slot"
        sel.model = "diffusion"
        cancel = threading.Event()
        cancel.set()  # the page moved on while waiting
        with pytest.raises(FinescaleError, match="generation cancelled"):
            svc.generate(cancel=cancel)
    svc.generate()  # the slot is free again


def test_season_means_are_read_once_per_region_and_season(small, small_dir, monkeypatch):
    """The Diagnostics tab's season series: a read of the whole season, done once per
    process for a region and season, not on every new day; a re-opened dataset is read again."""
    from finescale.app import service as state
    from finescale.data.layout import open_dataset

    reads = []
    real = state.box_series
    monkeypatch.setattr(state, "box_series", lambda *a: reads.append(a) or real(*a))
    reg = small.region("area1")
    first = state.season_means(reg, "JJA")
    days = pd.DatetimeIndex(reg.fine["time"].values)
    assert first["truth"].sizes["time"] == in_season(days, "JJA").sum() > 0
    np.testing.assert_allclose(first["truth"].values,
                               reg.fine.sel(time=first["time"]).mean(("lat", "lon")).values,
                               rtol=1e-5)
    assert state.season_means(reg, "JJA") is first and len(reads) == 1
    assert state.season_means(reg, "DJF") is not first and len(reads) == 2
    again = open_dataset(small_dir).region("area1")
    assert state.season_means(again, "JJA") is not first and len(reads) == 3


def test_the_sidebar_offers_only_what_changes_the_result(small, ckpts, student):
    """A control the sidebar hides for a model does not change that model's maps; one it
    shows does. A student's sidebar has no sampler, steps or solver; the U-Net's none of the
    ensemble's settings; interpolation's nothing but the view."""
    from finescale.app.sidebar import Sidebar

    s = open_selection(small, (ckpts["diffusion"].parent, student.parent))
    s.region, s.date, s.steps = "area1", dt.date(2006, 7, 3), 2
    bar, svc = Sidebar(selection=s), GenerationService(s)
    shown = lambda: {n for n in Selection.CONTROLS if bar.controls._widgets[n].visible}  # noqa: E731

    def field():
        return svc.fields(svc.generate())["generated"].values.copy()

    s.model = "unet"
    assert shown() == {"region", "season", "model", "precision", "show", "log_scale"}
    base = field()
    s.steps, s.solver, s.seed, s.members = 3, "heun", 7, 3  # all hidden for the U-Net
    np.testing.assert_allclose(field(), base, rtol=1e-6)
    s.model = "distilled"
    assert {"calls", "members", "seed", "windows"} <= shown()
    assert not shown() & {"sampler", "steps", "solver"}
    base = field()
    s.steps, s.solver = 5, "dpm2m"  # hidden for the student: the same maps
    np.testing.assert_array_equal(field(), base)
    s.seed = 8  # shown: other maps
    assert not np.allclose(field(), base)
    s.model = "diffusion"
    assert {"sampler", "steps", "solver", "windows"} <= shown() and "calls" not in shown()
    base = field()
    s.steps = 2  # shown: other maps
    assert not np.allclose(field(), base)
    s.sampler = "paper"
    assert "steps" in shown() and not shown() & {"solver", "windows"}
    s.model = "interp:bilinear"
    assert shown() == set(Selection.ALWAYS)
