"""``finescale serve``: start the dashboard with ``panel serve`` on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from finescale.data.errors import FinescaleError
from finescale.data.generator import prepare
from finescale.data.layout import ENV_DATA_DIR, default_data_dir

MAIN = Path(str(files("finescale.app").joinpath("main.py")))


def ensure_data(path: Path | None) -> Path:
    """The dataset to serve: ``path`` if it holds one; the embedded default, generated on
    first use, when no path is given."""
    data = path.expanduser().resolve() if path is not None else default_data_dir()
    if not (data / "manifest.json").exists():
        if path is not None:
            raise FinescaleError(f"no dataset at {data}")
        print(f"no dataset at {data}: generating the embedded default first (about 2 minutes)")
        prepare(data)
    return data


def cmd_serve(a: argparse.Namespace) -> int:
    env = dict(os.environ)
    env[ENV_DATA_DIR] = str(ensure_data(a.data))
    cmd = [sys.executable, "-m", "panel", "serve", str(MAIN), "--address", a.address,
           "--port", str(a.port), "--allow-websocket-origin", f"{a.address}:{a.port}",
           "--allow-websocket-origin", f"localhost:{a.port}"]
    if a.show:
        cmd.append("--show")
    return subprocess.call(cmd, env=env)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="open the dashboard in a browser")
    p.add_argument("--data", type=Path, default=None, help="dataset directory")
    p.add_argument("--address", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.set_defaults(func=cmd_serve)
