"""The long record: a period of any length downscaled into a zarr store, slab by slab.

A slab is one segment of days × one block of members (:class:`RecordLayout`). Its days are
made strictly autoregressively, each member carrying its own history and the season's
checkpoint switching at season boundaries. Chained (the default), a block's first slab
starts from the coarse fields regridded to the fine grid and ``spinup`` discarded days, and
each later slab continues the block's history; independent (``chain=False``), every slab
starts that way. The random stream of a slab derives from (seed, segment, block) only, so
the store does not depend on how many workers made it; a killed run resumes with the
slabs not marked done.

Distributed: under ``torchrun`` rank 0 writes the store's template first, the others wait
at a barrier; then each rank takes every ``world``-th member block (chained) or missing
slab (independent); nothing is gathered.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from tqdm.auto import tqdm

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir, ensure_writable
from finescale.data.record import (
    RecordLayout,
    check_settings,
    create_store,
    damaged_slabs,
    disk_errors,
    done_slabs,
    record_lock,
    settings_of,
    unmark,
    write_slab,
)
from finescale.data.record_evidence import CLIP_ATTR
from finescale.data.seasons import season_of
from finescale.data.splits import SplitConfig, make_split
from finescale.model import distributed
from finescale.model.checkpoints import read_manifest, sha256, versions
from finescale.model.config import SamplerConfig
from finescale.model.datasets import fingerprints
from finescale.model.inference import Checkpoint, LoadedModel, Run, prepare_run
from finescale.model.registry import resolve_checkpoint
from finescale.model.rollout import cold_history, rollout
from finescale.model.writers import to_dataset


@dataclass(frozen=True)
class RecordConfig:
    """What to reconstruct and how; everything here is recorded in (and checked against)
    the store."""

    layout: RecordLayout
    spinup: int = 7
    seed: int = 0
    # continue each member block's history from segment to segment: joins are seamless
    # (measured, docs/reconstruct.md), parallel over member blocks only. False:
    # independent segments, each with its own spin-up, parallel over segments too, but a
    # join stays visible in the day-to-day change
    chain: bool = True
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    # mantissa bits the members keep on disk (data.record.packing); 0: lossless float32
    keepbits: int = 0

    def __post_init__(self) -> None:
        if self.spinup < 0:
            raise FinescaleError(f"spinup must be >= 0, got {self.spinup}")
        if not 0 <= self.keepbits <= 23:
            raise FinescaleError(f"keepbits must be 0 (lossless) or 1 to 23 (float32's "
                                 f"mantissa), got {self.keepbits}")


def slab_seed(seed: int, segment: int, block: int) -> int:
    """The random stream of one slab, from (seed, segment, block) alone."""
    return int(np.random.SeedSequence([seed, segment, block]).generate_state(1)[0])


def spin_days(run: Run, first: pd.Timestamp, spinup: int) -> pd.DatetimeIndex:
    """The spin-up days before ``first`` (none before the coarse record begins)."""
    spin = pd.date_range(end=first - pd.Timedelta(days=1), periods=spinup, freq="D")
    return spin[spin >= run.sds[run.first.season].coarse_days[0]]


def roll_slab(run: Run, days: pd.DatetimeIndex, members: int, spinup: int, seed: int,
              sampler: SamplerConfig, on_day: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None, history: np.ndarray | None = None,
              state: dict | None = None) -> np.ndarray:
    """Physical fields (member, day, lat, lon) of one slab: from a cold start and a
    spin-up, or continuing each member's ``history`` (member, H, lat, lon) with no spin-up.

    Spin-up days whose season has no checkpoint use the first day's season's model;
    ``state["history"]`` receives the members' history after the slab's last day.
    """
    fallback = season_of([days[0]])[0]
    sd0 = run.sds[fallback]
    spin = spin_days(run, days[0], spinup) if history is None else days[:0]
    if history is None:
        history = cold_history(sd0, spin[0] if spin.size else days[0],
                               run.first.enc_cfg.history)
    out = np.empty((members, days.size, *sd0.shape), dtype=np.float32)
    for k, values in rollout(run, spin.append(days), history, members, sampler, seed,
                             discard=spin.size, fallback=fallback, cancel=cancel,
                             on_day=on_day, state=state):
        out[:, k] = values
    return out


class ChainState:
    """Each member block's history at the end of its last segment, for ``--chain``: the
    next segment continues it. One ``.npy`` file per (block, segment) inside the store,
    written atomically before the slab is marked done, the previous one removed after."""

    def __init__(self, store: Path):
        self.dir = Path(store) / ".finescale-chain"

    def path(self, block: int, segment: int) -> Path:
        return self.dir / f"block{block}-segment{segment}.npy"

    def load(self, block: int, segment: int) -> np.ndarray:
        p = self.path(block, segment)
        if not p.exists():
            raise FinescaleError(f"{p} is missing: the chain of member block {block} cannot "
                                 f"continue after segment {segment}; remove the store and "
                                 "start again")
        return np.load(p, allow_pickle=False)

    def has(self, block: int, segment: int) -> bool:
        return self.path(block, segment).exists()

    def save(self, block: int, segment: int, history: np.ndarray) -> None:
        self.dir.mkdir(exist_ok=True)
        tmp = self.path(block, segment).with_suffix(".tmp.npy")
        np.save(tmp, history, allow_pickle=False)
        os.replace(tmp, self.path(block, segment))

    def drop(self, block: int, segment: int) -> None:
        self.path(block, segment).unlink(missing_ok=True)


def _settings(ds: DatasetDir, run: Run, cfg: RecordConfig) -> dict:
    lm = run.first
    return {"variable": ds.variable, "transform": lm.transform.kind, "region": lm.region,
            "kind": lm.kind, "seasons": sorted(run.by_season),
            "checkpoints": {s: sha256(m.path)[:16] for s, m in sorted(run.by_season.items())},
            # the calendar time each season's networks see is pinned to these fitted spans
            # (stores made before the pinning extrapolated it: they do not resume)
            "year_span": {s: [round(v, 6) for v in sd.year_span] if sd.year_span else None
                          for s, sd in sorted(run.sds.items())},
            # a setting added later is recorded only where it is used: older stores resume
            "sampler": {k: v for k, v in asdict(cfg.sampler).items()
                        if not (k == "coarse_consistent" and not v)},
            "spinup": cfg.spinup, "seed": cfg.seed,
            "chain": cfg.chain, "layout": asdict(cfg.layout),
            **({"keepbits": cfg.keepbits} if cfg.keepbits else {})}


def _template(ds: DatasetDir, run: Run, cfg: RecordConfig, checkpoints: Sequence[Checkpoint]
              ) -> tuple[xr.Dataset, dict[str, xr.DataArray]]:
    import dask.array as dsa

    lay = cfg.layout
    shape = run.sds[run.first.season].shape
    lazy = dsa.full((lay.members, lay.days.size, *shape), np.nan, dtype=np.float32,
                    chunks=lay.chunks(shape))
    out = to_dataset(ds, run.first, lay.days, lazy, checkpoints, cfg.sampler, cfg.seed,
                      True, cfg.spinup, placeholders=True)
    out.attrs.update(segment_days=lay.segment_days, member_block=lay.block)
    # the physical values each season's model clips to (the record evidence's `clipped`)
    out[ds.variable].attrs[CLIP_ATTR] = json.dumps(
        {s: [float(v) for v in m.transform.inverse(np.array(m.transform.bounds))]
         for s, m in sorted(run.by_season.items())})
    rd, var = ds.region(run.first.region), ds.variable
    coarse = rd.coarse.rename(lat="lat_coarse", lon="lon_coarse")
    return out, {f"{var}_truth": rd.fine, f"{var}_coarse": coarse}


def reconstruct(ds: DatasetDir, checkpoints: Sequence[Checkpoint], cfg: RecordConfig, out: Path,
                device: str | torch.device = "cpu", region: str | None = None,
                progress: bool = True, cancel: threading.Event | None = None,
                compile_networks: bool = False) -> Path:
    """Generate every missing slab of the record ``out`` (created if absent) for this
    process's share (all of it unless under torchrun with ``--distributed``).

    ``checkpoints``: one downscaler per season the period touches (paths, names such as
    ``area0-JJA-diffusion``, or loaded models). ``compile_networks``: run them compiled
    (:meth:`Run.compile`; :func:`finescale.model.device.compile_pays` says where it pays):
    the same fields to float32 rounding, so it is how a store is made, not what it holds
    (not among its checked settings; its ``software`` attribute records it).
    """
    out = Path(out)
    checkpoints = [c if isinstance(c, LoadedModel) else resolve_checkpoint(c)
                   for c in checkpoints]
    lay = cfg.layout
    shard = distributed.current()
    run = prepare_run(ds, checkpoints, lay.days, device, region)
    if compile_networks:
        run.compile()
    settings = _settings(ds, run, cfg)
    with record_lock(out) if shard.main else nullcontext():
        if shard.main:
            if out.exists():
                check_settings(out, settings)
                damaged = damaged_slabs(out)
                if damaged:  # lost or altered chunks: made again
                    print(f"finescale: {len(damaged)} finished slab(s) of {out} have missing "
                          f"or altered chunks ({_slab_list(damaged)}): making them again",
                          file=sys.stderr)
                    unmark(out, damaged)
            else:
                ensure_writable(out, overwrite=False)
                template, sources = _template(ds, run, cfg, checkpoints)
                create_store(out, template, lay, settings, sources,
                             software={**versions(), "torch_compile": compile_networks},
                             keepbits=cfg.keepbits)
        distributed.barrier()
        if not shard.main:
            check_settings(out, settings)
        if compile_networks and shard.main:  # said once the store is known good to go on
            print("finescale: running the networks compiled (torch.compile; 25-90 s before "
                  "the first day; --compile off to skip)", file=sys.stderr)
        _make(ds, run, cfg, out, shard, progress, cancel)
    return out


def _slab_list(slabs: list[tuple[int, int]]) -> str:
    return ", ".join(f"segment {k} block {b}" for k, b in slabs[:4]) + (
        f" and {len(slabs) - 4} more" if len(slabs) > 4 else "")


def _make(ds: DatasetDir, run: Run, cfg: RecordConfig, out: Path, shard, progress: bool,
          cancel: threading.Event | None) -> None:
    """This process's share of the missing slabs, made and written."""
    lay = cfg.layout
    done = done_slabs(out)
    missing = [s for s in lay.slabs() if not done[s]]
    if cfg.chain:  # a block's segments in order on one process
        units = sorted({b for _, b in missing})
        todo = [s for b in units[shard.rank::shard.world] for s in missing if s[1] == b]
    else:
        units = missing
        todo = missing[shard.rank::shard.world]  # dealt round-robin: any process count works
    if shard.main and progress and 0 < len(units) < shard.world:
        print(f"finescale: {len(units)} {'member block' if cfg.chain else 'slab'}(s) left for "
              f"{shard.world} processes; {shard.world - len(units)} will idle", file=sys.stderr)
    chain = ChainState(out)

    def spin(k: int) -> int:
        if cfg.chain and k > 0:
            return 0
        return len(spin_days(run, lay.days[lay.segment(k)][0], cfg.spinup))

    # generated member-days, spin-up included (what the time goes into)
    total = sum((len(lay.days[lay.segment(k)]) + spin(k)) * lay.block_size(b)
                for k, b in todo)
    bar = tqdm(total=total, unit="member-day", disable=not (progress and shard.main),
               desc=f"reconstruct {run.first.region}"
                    + (f" rank {shard.rank}/{shard.world}" if shard.world > 1 else ""))
    try:
        for k, b in todo:
            days = lay.days[lay.segment(k)]
            n = lay.block_size(b)
            history = None
            if cfg.chain and k > 0:
                history = chain.load(b, k - 1) if chain.has(b, k - 1) else \
                    _replay(run, cfg, b, k)
            state: dict = {}
            values = roll_slab(run, days, n, cfg.spinup, slab_seed(cfg.seed, k, b),
                               cfg.sampler, on_day=lambda *_, n=n: bar.update(n),
                               cancel=cancel, history=history, state=state)
            if cfg.chain:
                with disk_errors(out, f"the chain state of member block {b}"):
                    chain.save(b, k, state["history"])
            write_slab(out, ds.variable, lay, (k, b), values)
            if cfg.chain:
                chain.drop(b, k - 1)
    finally:
        bar.close()
    distributed.barrier()
    if shard.main and cfg.chain and done_slabs(out).all():
        shutil.rmtree(chain.dir, ignore_errors=True)  # complete: nothing left to continue


def _replay(run: Run, cfg: RecordConfig, b: int, k: int) -> np.ndarray:
    """Member block ``b``'s history at the end of segment ``k − 1`` when its saved state is
    gone (a finished slab made again after its chunks were damaged): its segments 0 … k − 1
    rolled again from the cold start, with their own seeds, nothing written."""
    lay, history = cfg.layout, None
    for j in range(k):
        state: dict = {}
        roll_slab(run, lay.days[lay.segment(j)], lay.block_size(b), cfg.spinup,
                  slab_seed(cfg.seed, j, b), cfg.sampler, history=history, state=state)
        history = state["history"]
    return history


def record_test_days(rec: xr.Dataset, ds: DatasetDir) -> tuple[pd.DatetimeIndex | None, str]:
    """(the days a record's models were never trained or validated on, in ``ds``'s fine
    record: their split's test days; a line saying what was used) — or (None, why not),
    where the checkpoints the store names are gone or are not the ones it was made with."""
    made_with = settings_of(rec).get("checkpoints", {})
    paths = [Path(p.strip()) for p in str(rec.attrs.get("checkpoints", "")).split(",")
             if p.strip()]
    if not paths:
        return None, "no test-day scores: the store names no checkpoints"
    test = pd.DatetimeIndex([])
    for path in paths:
        if not path.exists():
            return None, f"no test-day scores: {path} (named by the store) is not there"
        m = read_manifest(path)
        if made_with.get(m["season"]) != sha256(path)[:16]:
            return None, (f"no test-day scores: {path} is not the checkpoint the store was "
                          "made with")
        if m["region"] not in ds.regions:
            return None, f"no test-day scores: dataset {ds.path} has no region {m['region']}"
        if m.get("data_fingerprint") not in fingerprints(ds.manifest, m["region"]):
            return None, (f"no test-day scores: {path} was trained on other data than "
                          f"dataset {ds.path} (give --data)")
        region = ds.region(m["region"])
        fine = pd.DatetimeIndex(region.fine["time"].values)
        test = test.union(make_split(fine, m["season"], SplitConfig(**m["split"])).test)
    return test, f"test-day scores on the {test.size} test days of the models' split"
