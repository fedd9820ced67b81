"""README.md is true: `.ci/run` runs its test command, and its Python example and its
"own data" commands run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- test-command -->\s*```bash\n(.+?)\n```", readme, re.S)
    assert block, "README has no marked test command"
    ci_lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines()
                if ln and not ln.startswith("#") and not ln.startswith(("set ", "cd "))]
    assert ci_lines == [block.group(1).strip()]


def _block(marker: str | None, lang: str) -> str:
    readme = (ROOT / "README.md").read_text()
    if marker is None:
        block = re.search(rf"```{lang}\n(.+?)\n```", readme, re.S)
    else:
        block = re.search(rf"<!-- {marker} -->\s*```{lang}\n(.+?)\n```", readme, re.S)
    assert block, f"README has no {marker or 'first'} {lang} block"
    return block.group(1)


def _user_env(home: Path) -> dict:
    """A newcomer's shell: no finescale settings, a home of its own, our interpreter first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FINESCALE_", "XDG_"))}
    return {**env, "HOME": str(home), "OMP_NUM_THREADS": "2",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}


@pytest.fixture(scope="module")
def default_data(tmp_path_factory) -> Path:
    """The embedded default as the README prepares it, limited to area0, the only region the
    example reads (its files are the same byte for byte; 40 s instead of 80 on 2 cores)."""
    out = tmp_path_factory.mktemp("default") / "data"
    r = subprocess.run(["finescale", "data", "prepare", "--regions", "area0", "--out", str(out)],
                       env=_user_env(out.parent), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.mark.slow
def test_the_python_example_runs_as_written(default_data: Path, tmp_path: Path):
    script = tmp_path / "example.py"
    script.write_text(_block(None, "python"))
    env = {**_user_env(tmp_path), "FINESCALE_DATA": str(default_data)}
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    r2 = float(re.search(r"R² ([0-9.]+)", r.stdout).group(1))
    assert "'member': 2" in r.stdout and "'time': 3" in r.stdout, r.stdout
    assert 0.8 < r2 <= 1.0, r.stdout  # shipped weights on days with true history


@pytest.mark.slow
def test_the_own_data_commands_run_as_written(tmp_path: Path):
    """Import, train and generate a signed variable (10-m wind) for a region outside the
    study areas, with no --static and no --transform: exactly the README's commands."""
    import xarray as xr

    from tests.own_data import write_pair

    write_pair(tmp_path)
    commands = [ln for ln in _block("own-data", "bash").splitlines() if ln.strip()]
    assert len(commands) == 5
    for cmd in commands:
        r = subprocess.run(cmd, shell=True, cwd=tmp_path, env=_user_env(tmp_path / "home"),
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        if cmd.startswith("finescale data info"):
            assert "importable: --variable u10 (transform standard" in r.stdout, r.stdout
    with xr.open_dataset(tmp_path / "sahel.nc", engine="h5netcdf") as out:
        u = out["u10"]
        assert u.dims == ("member", "time", "lat", "lon") and u.sizes["member"] == 8
        assert out.attrs["transform"] == "standard" and u.attrs["units"] == "m s-1"
        assert np.isfinite(u.values).all() and (u.values < 0).any() and (u.values > 0).any()
        truth = out["u10_truth"].values
        assert np.isfinite(truth).all()  # 2010-08-20..24 lie in the fine record
        err = np.abs(u.mean("member").values - truth).mean()
        assert err < np.abs(truth - truth.mean()).mean()  # better than the climatology
