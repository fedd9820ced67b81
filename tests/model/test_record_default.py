"""The record's default models: the distilled students where every season has one."""

from __future__ import annotations

import json
import shutil

from finescale.model.registry import record_checkpoints, student_of


def _copy(src, dst_dir):
    for f in (src, src.with_suffix(".json")):
        shutil.copy(f, dst_dir / f.name)
    return dst_dir / src.name


def test_auto_takes_the_student_of_exactly_this_teacher(ckpts, student, tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    teacher = _copy(ckpts["diffusion"], d)
    assert record_checkpoints([d], "area1", "auto", ["JJA"]) == ([teacher], "diffusion")
    mine = _copy(student, d)
    assert student_of(teacher) == mine
    assert record_checkpoints([d], "area1", "auto", ["JJA"]) == ([mine], "distilled")
    assert record_checkpoints([d], "area1", "diffusion", ["JJA"]) == ([teacher], "diffusion")
    # a student of other weights is not this teacher's
    m = json.loads(mine.with_suffix(".json").read_text())
    m["teacher"]["weights_sha256"] = "0" * 64
    mine.with_suffix(".json").write_text(json.dumps(m))
    assert student_of(teacher) is None
    assert record_checkpoints([d], "area1", "auto", ["JJA"]) == ([teacher], "diffusion")


def test_the_shipped_students_are_the_default_where_every_season_has_one():
    from finescale.model.registry import SHIPPED_DIR

    have = {p.name.split("-")[1] for p in SHIPPED_DIR.glob("area0-*-distilled.safetensors")}
    ckpts, kind = record_checkpoints([SHIPPED_DIR], "area0", "auto", sorted(have))
    assert kind == "distilled" and all(p.stem.endswith("distilled") for p in ckpts)


def test_a_pair_name_alone_is_its_default_model():
    from finescale.model.registry import SHIPPED_DIR, resolve_checkpoint

    assert resolve_checkpoint("area0-JJA") == SHIPPED_DIR / "area0-JJA-distilled.safetensors"
    assert resolve_checkpoint("area0-JJA-diffusion").stem == "area0-JJA-diffusion"


def test_coarse_consistent_days_average_back_to_their_input(small, ckpts):
    """--coarse-consistent: every covered coarse cell's mean of a generated day equals the
    coarse input (up to the clip); off, they differ."""
    import numpy as np

    from finescale.data.regrid import coarse_cells, to_coarse
    from finescale.model.config import SamplerConfig
    from finescale.model.generation import generate

    rd = small.region("area1")
    w = (coarse_cells(rd.fine["lat"].values, rd.coarse["lat"].values),
         coarse_cells(rd.fine["lon"].values, rd.coarse["lon"].values))
    coarse = rd.coarse.sel(time=["2005-07-02", "2005-07-03"]).values
    for on in (False, True):
        out = generate(small, [ckpts["diffusion"]], "2005-07-02", "2005-07-03", members=2,
                       sampler=SamplerConfig(steps=2, coarse_consistent=on), spinup=0,
                       progress=False)
        means = to_coarse(out["DUEXTTAU"].values, *w)
        ok = np.isfinite(means)
        close = np.isclose(means, np.broadcast_to(coarse, means.shape), rtol=1e-3)[ok]
        assert close.mean() > 0.95 if on else close.mean() < 0.2
