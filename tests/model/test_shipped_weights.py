"""The weights in assets/weights load into the architectures their manifests describe."""

from __future__ import annotations

import json

import pytest

from finescale.model.checkpoints import load_into, read_checkpoint
from finescale.model.config import DownscalerConfig, EncoderConfig, from_dict
from finescale.model.kinds import KINDS
from finescale.model.registry import SHIPPED_DIR, find_checkpoints
from finescale.model.training import build_encoder

SHIPPED = find_checkpoints(SHIPPED_DIR)


def test_weights_are_shipped_with_provenance():
    assert SHIPPED, "no weights in assets/weights"
    total = sum(c.path.stat().st_size for c in SHIPPED)
    assert total <= 80 * 2**20  # issue 17's bound: all six models × eight pairs, fp16
    for c in SHIPPED:
        m = json.loads(c.path.with_suffix(".json").read_text())
        assert c.path.name == f"{c.region}-{c.season}-{c.kind}.safetensors"
        assert m["training"]["command"].startswith("finescale train")
        assert m["training"]["seconds"] > 0 and m["training"]["device"]
        assert m["storage"] == "float16"


@pytest.mark.parametrize("c", SHIPPED, ids=lambda c: c.path.stem)
def test_shipped_weights_load(c):
    tensors, m = read_checkpoint(c.path, kind=c.kind, region=c.region, season=c.season)
    enc_cfg = from_dict(EncoderConfig, m["encoder_config"])
    if c.kind == "encoder":
        load_into(build_encoder(enc_cfg), tensors, c.path)
        return
    model = KINDS[c.kind].build(enc_cfg, from_dict(DownscalerConfig, m["downscaler_config"]))
    load_into(model, {k: v for k, v in tensors.items() if not k.startswith("encoder.")}, c.path)
    if KINDS[c.kind].uses_features:
        load_into(build_encoder(enc_cfg), tensors, c.path, prefix="encoder.")


def test_every_shipped_student_names_the_shipped_teacher_of_its_pair():
    students = [c for c in SHIPPED if c.kind == "distilled"]
    assert students, "no distilled weights shipped"
    for c in students:
        m = json.loads(c.path.with_suffix(".json").read_text())
        teacher = c.path.with_name(f"{c.region}-{c.season}-diffusion.json")
        assert m["teacher"]["name"] == teacher.stem
        assert m["teacher"]["weights_sha256"] == json.loads(teacher.read_text())["weights_sha256"]
        assert len(m["downscaler_config"]["student_sigmas"]) == 2


def test_every_shipped_downscaler_names_the_years_it_was_fitted_on():
    for c in SHIPPED:
        m = json.loads(c.path.with_suffix(".json").read_text())
        if c.kind == "encoder":
            continue
        lo, hi = m["year_span"]
        assert 2005.3 < lo < hi < 2007.5, (c.path.name, lo, hi)  # the fine record's years
