"""Generated fields of an evaluation kept on disk, so a long ``finescale evaluate`` (the
paper's evidence: eight pairs, six models, hours on a CPU) can be stopped and resumed, or
grown by more checkpoints, without generating again what it already generated.

An entry is one model's test days and roll-out for one area × season, keyed by everything
that decides them: the checkpoint's weights (the file's sha256), the data's identity, the
days, the ensemble size, the sampler, the seed and the device type. A changed setting is a
new key, never a stale hit. Scores are not kept: they are recomputed from the fields
(cheap), so a change in a score's definition applies to cached fields too.

While an entry is generated its pieces are kept as they finish (``PART_DAYS`` test days at a
time; the roll-out in pieces with the members' history after each): an evaluation stopped
inside one model's hours of generation resumes from its last finished piece, and the pieces
go once the entry is whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.layout import atomic_dir
from finescale.model.checkpoints import sha256
from finescale.model.config import SamplerConfig


def entry_key(checkpoint: Path, data: str, days: pd.DatetimeIndex,
              roll_days: pd.DatetimeIndex | None, members: int, sampler: SamplerConfig,
              seed: int, device: str) -> str:
    """The identity of one model's generated fields (hex, 16 characters). ``data``: the
    identity of the data generated from (``model.datasets.fingerprint``)."""
    key = {"weights": sha256(checkpoint), "data": data,
           "days": [f"{d:%Y-%m-%d}" for d in days],
           "roll": [] if roll_days is None else [f"{d:%Y-%m-%d}" for d in roll_days],
           "members": members, "sampler": dataclasses.asdict(sampler), "seed": seed,
           "device": str(device).split(":")[0]}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


PART_DAYS = 8  # test days per kept piece: a stop loses at most this many days' generation


class GenerationCache:
    """``root/{region}-{season}-{model}-{key}/{test,roll}.nc``, each entry written whole
    (a temporary directory renamed into place) or not at all."""

    def __init__(self, root: Path):
        self.root = Path(root).expanduser()

    def path(self, region: str, season: str, model: str, key: str) -> Path:
        return self.root / f"{region}-{season}-{model}-{key}"

    def get(self, region: str, season: str, model: str, key: str
            ) -> tuple[xr.Dataset, xr.Dataset | None, float] | None:
        """(test, roll-out, seconds the generation took) or None."""
        d = self.path(region, season, model, key)
        if not (d / "test.nc").exists():
            return None
        try:
            test = _read(d / "test.nc")
            roll = _read(d / "roll.nc") if (d / "roll.nc").exists() else None
            seconds = float(json.loads((d / "entry.json").read_text())["seconds"])
        except (OSError, ValueError, KeyError) as err:
            raise FinescaleError(f"cached generation {d} is unreadable ({err}); delete it "
                                 "to generate again") from None
        return test, roll, seconds

    def put(self, region: str, season: str, model: str, key: str, test: xr.Dataset,
            roll: xr.Dataset | None, seconds: float) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_dir(self.path(region, season, model, key), overwrite=True) as tmp:
            (tmp / "entry.json").write_text(json.dumps({"seconds": seconds}))
            test.to_netcdf(tmp / "test.nc")
            if roll is not None:
                roll.to_netcdf(tmp / "roll.nc")
        shutil.rmtree(self._pieces(region, season, model, key), ignore_errors=True)
        try:
            (self.root / ".pieces").rmdir()  # only when no other entry has pieces
        except OSError:
            pass
        return self.path(region, season, model, key)

    def _pieces(self, region: str, season: str, model: str, key: str) -> Path:
        return self.root / ".pieces" / self.path(region, season, model, key).name

    def get_piece(self, region: str, season: str, model: str, key: str, name: str
                  ) -> tuple[xr.Dataset, float] | None:
        """A finished piece of an entry being generated: (fields, seconds) or None."""
        d = self._pieces(region, season, model, key)
        if not (d / f"{name}.json").exists():
            return None
        try:
            seconds = float(json.loads((d / f"{name}.json").read_text())["seconds"])
            return _read(d / f"{name}.nc"), seconds
        except (OSError, ValueError, KeyError) as err:
            raise FinescaleError(f"cached piece {d / name}.nc is unreadable ({err}); delete "
                                 "it to generate it again") from None

    def put_piece(self, region: str, season: str, model: str, key: str, name: str,
                  data: xr.Dataset, seconds: float, history: np.ndarray | None = None
                  ) -> None:
        """Keep one finished piece: its fields (and the members' history after it, for a
        roll-out to continue from), then the note that says it is whole; the history of
        the piece before goes only after that, so a stop anywhere leaves one to resume."""
        d = self._pieces(region, season, model, key)
        d.mkdir(parents=True, exist_ok=True)

        def save_history(path: Path) -> None:
            with open(path, "wb") as f:  # a file, not a name: np.save would add ".npy"
                np.save(f, history)

        writes = [(".nc", data.to_netcdf)]
        if history is not None:
            writes.append((".history.npy", save_history))
        writes.append((".json", lambda f: f.write_text(json.dumps({"seconds": seconds}))))
        for suffix, write in writes:
            tmp = d / f".{name}{suffix}.tmp"
            write(tmp)
            os.replace(tmp, d / f"{name}{suffix}")
        if history is not None:
            for old in d.glob("*.history.npy"):
                if old.name != f"{name}.history.npy":
                    old.unlink()

    def piece_history(self, region: str, season: str, model: str, key: str, name: str
                      ) -> np.ndarray | None:
        """The members' history kept after piece ``name`` (None if it went)."""
        f = self._pieces(region, season, model, key) / f"{name}.history.npy"
        return np.load(f) if f.exists() else None


def kept_piece(cache: GenerationCache | None, where: tuple[str, str, str, str | None],
               name: str, make: Callable[[], xr.Dataset]) -> tuple[xr.Dataset, float]:
    """One piece of a generation and the seconds it took: kept in ``cache`` (under
    ``where`` = region, season, model, key) as soon as it is made, taken from there when a
    stopped run made it already. Without a cache it is simply made."""
    hit = None if cache is None else cache.get_piece(*where, name)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    data = make()
    seconds = time.perf_counter() - t0
    if cache is not None:
        cache.put_piece(*where, name, data, seconds)
    return data, seconds


def kept_days(cache: GenerationCache | None, where: tuple[str, str, str, str | None],
              days: pd.DatetimeIndex, make: Callable[[pd.DatetimeIndex], xr.Dataset]
              ) -> tuple[xr.Dataset, float]:
    """``make(days)`` made ``PART_DAYS`` days at a time, each piece kept
    (:func:`kept_piece`), joined along time; and the seconds the pieces took."""
    pieces = [kept_piece(cache, where, f"test-{i:04d}", lambda c=days[i:i + PART_DAYS]: make(c))
              for i in range(0, days.size, PART_DAYS)]
    return join(pieces)


def join(pieces: list[tuple[xr.Dataset, float]]) -> tuple[xr.Dataset, float]:
    """Pieces (fields, seconds) of one generation as one: joined along time, seconds summed."""
    joined = xr.concat([p for p, _ in pieces], "time", data_vars="minimal", coords="minimal",
                       compat="override", combine_attrs="override")
    return joined, sum(s for _, s in pieces)


def _read(path: Path) -> xr.Dataset:
    with xr.open_dataset(path) as f:
        return f.load()
