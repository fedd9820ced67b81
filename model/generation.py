"""Generation of fine fields for a period or scattered days: ensembles, CF-style output.

Inference (:mod:`finescale.model.inference`), the roll-out (:mod:`finescale.model.rollout`)
and the writers (:mod:`finescale.model.writers`) do the work; this module is the public
entry point of ``finescale generate`` and the dashboard. Where no fine history exists yet
(before the fine record), the history starts from the coarse fields bilinearly regridded to
the fine grid, and ``spinup`` days are generated and discarded first. Each member keeps its
own history (an ensemble of trajectories).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from tqdm.auto import tqdm

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir, ensure_writable
from finescale.data.regrid import METHODS, regrid
from finescale.data.seasons import daily, season_of
from finescale.model.config import SamplerConfig
from finescale.model.inference import Checkpoint, LoadedModel, Run, load_model, prepare_run
from finescale.model.rollout import rollout, warm_history
from finescale.model.writers import (
    cf_coords,
    coarse_of,
    stream_netcdf,
    to_dataset,
    truth_of,
    write_generated,
)

__all__ = ["LoadedModel", "generate", "generate_days", "generate_to_file", "interpolate_region",
           "load_model", "write_generated"]


def _check_members(members: int) -> None:
    if members < 1:
        raise FinescaleError(f"members must be >= 1, got {members}")


def _roll(run: Run, days: pd.DatetimeIndex, members: int, sampler: SamplerConfig, seed: int,
          strict: bool, spinup: int, progress: bool,
          callback: Callable[[int, int], None] | None, cancel: threading.Event | None,
          state: dict | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """:func:`rollout` from the true history where it exists, else from a spin-up."""
    sd0 = run.sds[run.first.season]
    run_days = days
    if sd0.fine_days.get_indexer([days[0] - pd.Timedelta(days=1)])[0] < 0 and spinup > 0:
        run_days = pd.date_range(days[0] - pd.Timedelta(days=spinup), days[-1], freq="D")
        sd0.coarse_index(run_days[0])
    hist = warm_history(sd0, run_days[0], run.first.enc_cfg.history)
    bar = tqdm(total=len(run_days), desc=f"generate {run.first.kind} {run.first.region}",
               unit="day", disable=not progress)

    def on_day(n: int, total: int) -> None:
        bar.update(1)
        if callback:
            callback(n, total)

    try:
        # spin-up days before a season's first day belong to the season before, whose
        # model may not be given: they run with the first day's (as reconstruct does)
        yield from rollout(run, run_days, hist, members, sampler, seed,
                           discard=len(run_days) - len(days), feed_truth=not strict,
                           fallback=season_of([days[0]])[0], cancel=cancel, on_day=on_day,
                           state=state)
    finally:
        bar.close()


def generate(ds: DatasetDir, checkpoints: Sequence[Checkpoint], start: str, end: str,
             members: int = 1, sampler: SamplerConfig | None = None, seed: int = 0,
             device: str | torch.device = "cpu", strict: bool = True, spinup: int = 7,
             progress: bool = True, callback: Callable[[int, int], None] | None = None,
             cancel: threading.Event | None = None, region: str | None = None) -> xr.Dataset:
    """Generate ``members`` fine fields per day from ``start`` to ``end`` (inclusive).

    ``checkpoints``: one downscaler per season needed (same region and kind; paths or
    :class:`LoadedModel`), or an interpolation baseline given as
    ``interp:nearest|bilinear|bicubic``.
    """
    sampler = sampler or SamplerConfig()
    _check_members(members)
    days = daily(start, end)
    if len(checkpoints) == 1 and str(checkpoints[0]).startswith("interp:"):
        method = str(checkpoints[0]).split(":", 1)[1]
        return interpolate_region(ds, region or next(iter(ds.regions)), method, days)
    run = prepare_run(ds, checkpoints, days, device, region)
    out = np.empty((members, days.size, *run.sds[run.first.season].shape), dtype=np.float32)
    for k, values in _roll(run, days, members, sampler, seed, strict, spinup, progress,
                           callback, cancel):
        out[:, k] = values
    return to_dataset(ds, run.first, days, out, checkpoints, sampler, seed, strict, spinup)


def generate_pieces(ds: DatasetDir, checkpoints: Sequence[Checkpoint], start: str, end: str,
                    piece: int, members: int = 1, sampler: SamplerConfig | None = None,
                    seed: int = 0, device: str | torch.device = "cpu", spinup: int = 7,
                    cancel: threading.Event | None = None,
                    resume: tuple[int, np.ndarray] | None = None
                    ) -> Iterator[tuple[int, xr.Dataset, np.ndarray]]:
    """A strict :func:`generate` from ``start`` to ``end``, ``piece`` days at a time: yields
    (piece number, its fields, every member's history after it). ``resume`` = (the next
    piece's number, the history after the piece before it) continues a stopped roll-out;
    the pieces are those of one pass (each day's noise is seeded by its date)."""
    sampler = sampler or SamplerConfig()
    _check_members(members)
    days = daily(start, end)
    run = prepare_run(ds, checkpoints, days, device, None)
    first, hist = resume or (0, None)
    for i in range(first, -(-days.size // piece)):
        part = days[i * piece:(i + 1) * piece]
        out = np.empty((members, part.size, *run.sds[run.first.season].shape), np.float32)
        state: dict = {}
        steps = (_roll(run, part, members, sampler, seed, True, spinup, False, None, cancel,
                       state) if hist is None else
                 rollout(run, part, hist, members, sampler, seed, cancel=cancel, state=state,
                         fallback=season_of([days[0]])[0]))
        for k, values in steps:
            out[:, k] = values
        hist = state["history"]
        yield i, to_dataset(ds, run.first, part, out, checkpoints, sampler, seed, True,
                            spinup), hist


def generate_to_file(ds: DatasetDir, checkpoints: Sequence[Checkpoint], start: str, end: str,
                     path: Path, members: int = 1, sampler: SamplerConfig | None = None,
                     seed: int = 0, device: str | torch.device = "cpu", strict: bool = True,
                     spinup: int = 7, progress: bool = True,
                     callback: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None, region: str | None = None) -> Path:
    """:func:`generate`, streamed to a NetCDF file day by day.

    Memory stays bounded by one day of the ensemble plus the history, however long the
    period. The file appears under ``path`` only when complete. (For multi-year records,
    parallel and resumable, use :func:`finescale.model.reconstruct.reconstruct`.)
    """
    sampler = sampler or SamplerConfig()
    _check_members(members)
    days = daily(start, end)
    path = Path(path)
    if len(checkpoints) == 1 and str(checkpoints[0]).startswith("interp:"):
        return write_generated(generate(ds, checkpoints, start, end, region=region), path)
    run = prepare_run(ds, checkpoints, days, device, region)
    import dask.array as dsa

    shape = run.sds[run.first.season].shape
    lazy = dsa.full((members, days.size, *shape), np.nan, dtype=np.float32,
                    chunks=(1, 1, *shape))
    skeleton = to_dataset(ds, run.first, days, lazy, checkpoints, sampler, seed, strict,
                          spinup, placeholders=True)
    rd = ds.region(run.first.region)
    fine_days = pd.DatetimeIndex(rd.fine["time"].values)
    coarse_days = pd.DatetimeIndex(rd.coarse["time"].values)
    ensure_writable(path)

    def rows():
        for k, values in _roll(run, days, members, sampler, seed, strict, spinup, progress,
                               callback, cancel):
            i = fine_days.get_indexer([days[k]])[0]
            yield (k, values, rd.fine[i].values if i >= 0 else None,
                   rd.coarse[coarse_days.get_loc(days[k])].values)

    return stream_netcdf(skeleton, path, ds.variable, rows())


def generate_days(ds: DatasetDir, checkpoints: Sequence[Checkpoint], days: Sequence,
                  members: int = 1, sampler: SamplerConfig | None = None, seed: int = 0,
                  device: str | torch.device = "cpu", progress: bool = True,
                  cancel: threading.Event | None = None) -> xr.Dataset:
    """One-day-ahead fields for scattered days (e.g. the held-out test days).

    Each day is conditioned on the true fine history before it, where it exists (the
    paper's test protocol); seeds match :func:`generate` for the same day, so a day scores
    the same whichever way it was produced.
    """
    sampler = sampler or SamplerConfig()
    _check_members(members)
    days = pd.DatetimeIndex(pd.to_datetime(list(days))).normalize()
    if days.size == 0:
        raise FinescaleError("no days to generate")
    run = prepare_run(ds, checkpoints, days.sort_values(), device, None)
    out = np.empty((members, days.size, *run.sds[run.first.season].shape), dtype=np.float32)
    for k, day in enumerate(tqdm(days, desc=f"test days {run.first.kind} "
                                 f"{run.first.region}", unit="day", disable=not progress)):
        sd = run.sds[season_of([day])[0]]
        hist = warm_history(sd, day, run.first.enc_cfg.history)
        for _, values in rollout(run, days[k:k + 1], hist, members, sampler, seed,
                                 cancel=cancel):
            out[:, k] = values
    return to_dataset(ds, run.first, days, out, checkpoints, sampler, seed, False, 0)


def interpolate_region(ds: DatasetDir, region_name: str, method: str, days: pd.DatetimeIndex
                       ) -> xr.Dataset:
    """The interpolation floor: the coarse field regridded to the fine grid (no training)."""
    if method not in METHODS:
        raise FinescaleError(f"unknown interpolation {method!r}; use interp:nearest, "
                             "interp:bilinear or interp:bicubic")
    region = ds.region(region_name)
    tc = pd.DatetimeIndex(region.coarse["time"].values)
    if not days.isin(tc).all():
        raise FinescaleError(f"dates outside the coarse record of {region_name} "
                             f"({tc[0]:%Y-%m-%d} .. {tc[-1]:%Y-%m-%d})")
    coarse = region.coarse.sel(time=days).load()
    fine = regrid(coarse, region.fine["lat"].values, region.fine["lon"].values, method)
    var = ds.variable
    fine = fine.clip(min=0) if ds.transform == "log" else fine  # log data are positive
    out = xr.Dataset({var: fine.expand_dims(member=[0]),
                      f"{var}_truth": truth_of(ds, region_name, days),
                      f"{var}_coarse": coarse_of(ds, region_name, days)})
    cf_coords(out)
    out.attrs = {"Conventions": "CF-1.8", "title": "finescale interpolation baseline",
                 "model_kind": f"interp-{method}", "region": region_name, "members": 1,
                 "transform": ds.transform}
    return out
