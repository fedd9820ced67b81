"""Where the files shipped with finescale are, in a checkout or an installed wheel.

Every shipped file is package data of ``finescale.assets``; ``importlib.resources`` finds it
the same way for an editable install, a regular install and a wheel, so no module computes
paths from its own location.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from finescale.data.errors import FinescaleError

PACKAGE = "finescale.assets"


def asset_dir() -> Path:
    """The folder of shipped files (a real directory: wheels install unzipped)."""
    return Path(str(files(PACKAGE)))


def asset(*parts: str, must_exist: bool = True) -> Path:
    """The path of one shipped file, e.g. ``asset("static", "coast_borders.npz")``."""
    path = asset_dir().joinpath(*parts)
    if must_exist and not path.exists():
        raise FinescaleError(f"shipped file {'/'.join(parts)} is missing from {asset_dir()} "
                             "(a broken install: reinstall finescale)")
    return path
