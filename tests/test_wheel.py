"""The built wheel, installed into a fresh venv, works from a directory that holds a user's
``model.py``, ``data.py`` and ``app.py``: only ``finescale`` is imported, and every shipped
file (weights, static layers, coastlines, reports) comes from the installed package.

The fresh venv gets the wheel alone (``--no-deps``); the test environment's packages are made
visible through a ``.pth`` line, which adds them to ``sys.path`` without running their
``.pth`` files — so the editable install of this checkout stays inactive there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.servers import free_port, wait_http

ROOT = Path(__file__).resolve().parents[1]
SHADOWS = ("model", "data", "app")  # a user's modules that must never be imported by us

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: int = 600) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh venv, a user's working directory with shadowing modules)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # the files a clean clone has (tracked, or new and not ignored)
    files = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], ROOT).split("\0")
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"),
          str(src)], tmp)
    wheel = next((tmp / "dist").glob("finescale-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
          str(wheel)], tmp)
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     tmp).strip())
    (site / "zz_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    user = tmp / "user"
    user.mkdir()
    for name in SHADOWS:
        (user / f"{name}.py").write_text(f"raise ImportError('the user\\'s {name}.py was "
                                         "imported by finescale')\n")
    return venv, user


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PYTHONSAFEPATH": "", "OMP_NUM_THREADS": "1"}


def test_wheel_holds_one_import_name_and_the_assets(installed):
    venv, user = installed
    code = textwrap.dedent("""
        import importlib.metadata as md, json, sys
        import finescale.app.cli, finescale.model.api, finescale.data.static_layers
        from finescale.data.resources import asset_dir
        from finescale.model.registry import shipped_names
        dist = md.distribution("finescale")
        top = {f.parts[0] for f in dist.files if f.suffix == ".py"}
        curves = (asset_dir() / "report" / "curves" / "area1-SON.nc").exists()
        names = [str(f) for f in dist.files]
        print(json.dumps({"top": sorted(top), "assets": str(asset_dir()), "curves": curves,
                          "names": names,
                          "shipped": shipped_names(), "user_modules":
                          [m for m in ("model", "data", "app") if m in sys.modules]}))
    """)
    out = _run([str(venv / "bin" / "python"), "-c", code], user, _env())
    import json

    info = json.loads(out.strip().splitlines()[-1])
    assert info["top"] == ["finescale"]
    assert Path(info["assets"]).is_relative_to(venv), info["assets"]  # not this checkout
    assert "area0-JJA-diffusion" in info["shipped"] and len(info["shipped"]) >= 24
    assert info["user_modules"] == []
    assert info["curves"]  # the shipped report's curves, for the dashboard's seasonal tab
    # developer tools and experiment notes stay in the repository
    tools = [n for n in info["names"] if any(t in n for t in (
        "bench_ui", "load_test", "profile_page", "assets/bench", "assets/evidence",
        "screenshot"))]
    assert tools == []
    # shipped files carry no path of the machine that made them, and no commit hash
    import re

    site = Path(info["assets"])
    texts = [p for p in site.rglob("*") if p.suffix in (".json", ".md", ".csv")]
    assert len(texts) > 40
    for p in texts:
        text = p.read_text()
        assert not re.search(r"(?<![\w.])/(work|root|home|tmp|Users)/", text), p
        assert not re.search(r"\bcommit [0-9a-f]{7,40}\b", text), p


def test_wheel_cli_api_static_and_coastlines(installed):
    venv, user = installed
    text = _run([str(venv / "bin" / "finescale"), "--help"], user, _env())
    assert all(c in text for c in ("data", "train", "generate", "evaluate", "serve"))
    code = textwrap.dedent("""
        import numpy as np
        from finescale.app.figures import LINES_FILE, _lines
        from finescale.data.static_layers import static_on_grid
        from finescale.model.checkpoints import read_checkpoint
        from finescale.model.registry import resolve_checkpoint
        tensors, m = read_checkpoint(resolve_checkpoint("area0-JJA-diffusion"))
        assert m["kind"] == "diffusion" and len(tensors) > 10
        s = static_on_grid(np.arange(12, 18, 0.0625), np.arange(-5, 10, 0.0625))  # the Sahel
        assert 200 < float(s.elevation.mean()) < 600 and float(s.bare_fraction.mean()) > 0.1
        assert "site-packages" in str(LINES_FILE)
        lines = _lines()["coast"]
        assert lines.shape[1] == 2 and np.isfinite(lines).sum() > 1000
        print("ok")
    """)
    assert _run([str(venv / "bin" / "python"), "-c", code], user, _env()).strip() == "ok"


def test_wheel_dashboard_serves(installed, small_dir):
    venv, user = installed
    port = free_port()
    log = user / "serve.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([str(venv / "bin" / "finescale"), "serve", "--data",
                                 str(small_dir), "--port", str(port)], cwd=user, env=_env(),
                                stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/main", proc)
        import urllib.request

        html = urllib.request.urlopen(f"http://127.0.0.1:{port}/main", timeout=120).read()
        assert b"finescale" in html
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "Traceback" not in text and "was imported by finescale" not in text, text
