"""scripts/year_span.py writes into an older manifest the span training records today."""

from __future__ import annotations

import json
import shutil

from tests.scripts import load_script


def _script():
    return load_script("year_span")


def test_backfill_equals_what_training_records(small, ckpts, tmp_path):
    src = ckpts["diffusion"]
    path = tmp_path / src.name
    shutil.copy(src, path)
    written = json.loads(src.with_suffix(".json").read_text())
    assert written["year_span"]
    old = {k: v for k, v in written.items() if k != "year_span"}
    path.with_suffix(".json").write_text(json.dumps(old))
    script = _script()
    assert script.backfill(path, small) == "written"
    assert json.loads(path.with_suffix(".json").read_text())["year_span"] == written["year_span"]
    assert script.backfill(path, small) == "kept"
    other = {**old, "data_fingerprint": "0" * 16}
    path.with_suffix(".json").write_text(json.dumps(other))
    assert script.backfill(path, small) == "other data"
    assert "year_span" not in json.loads(path.with_suffix(".json").read_text())
