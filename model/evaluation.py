"""Score every model on the held-out test days of each area × season (``finescale evaluate``).

For each (region, season) with at least one downscaler checkpoint, every model and the
interpolation floor are scored on the same days:

* **test days** — the first ``days`` held-out test days in date order (not chosen by skill),
  each generated one day ahead from the true fine history (the paper's protocol);
* **roll-out** — one strict autoregressive run of ``rollout`` days from the first test day,
  feeding generated days back, for ACF/PACF and skill per lead day.

``split="val"`` scores the validation days instead: for choosing settings (sampler, steps)
without ever looking at the test days.

Results are plain records plus curves; :mod:`app.report` writes them to disk.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
import xarray as xr
from tqdm.auto import tqdm

from finescale.data import bootstrap, dressing
from finescale.data import evaluation as ev
from finescale.data.bootstrap import NOT_CLAIMS, REFERENCE, VERDICTS
from finescale.data.diagnostics import curve_error
from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir
from finescale.data.seasons import in_season, season_of
from finescale.data.splits import SCORED, SplitConfig, make_split
from finescale.model.checkpoints import read_manifest, sha256
from finescale.model.config import SamplerConfig
from finescale.model.datasets import fingerprint
from finescale.model.evalcache import GenerationCache, entry_key, join, kept_days
from finescale.model.generation import (
    LoadedModel,
    generate_days,
    generate_pieces,
    interpolate_region,
    load_model,
)
from finescale.model.kinds import KINDS, noise_rho
from finescale.model.registry import find_checkpoints
from finescale.model.workers import die_with_parent


@dataclass(frozen=True)
class EvalConfig:
    """What to score and how hard; defaults run all 8 pairs on a CPU in tens of minutes."""

    members: int = 4  # ensemble size of the generative models
    days: int = 8  # first N test days per season (0 = all)
    # "val": score the validation days instead, to choose settings without looking at test
    split: Literal["test", "val"] = "test"
    rollout: int = 10  # days of the autoregressive roll-out (0 = none; held out in time:
    # at least through all the scored days of the season-year)
    interp: tuple[str, ...] = ("bilinear",)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    curves: ev.CurveConfig = field(default_factory=ev.CurveConfig)
    seed: int = 0
    boot: int = 2000  # bootstrap resamples of the days for the intervals (0 = none)
    block: int = 0  # days per moving block of the bootstrap (0 = ⌈days^⅓⌉, 1 = single days)

    def __post_init__(self) -> None:
        if self.members < 1:
            raise FinescaleError(f"members must be >= 1, got {self.members}")
        if self.days < 0 or self.rollout < 0 or self.boot < 0 or self.block < 0:
            raise FinescaleError("days, rollout, boot and block must be >= 0")
        if self.split not in SCORED:
            raise FinescaleError(f"split must be one of {', '.join(SCORED)}, got {self.split!r}")


@dataclass
class PairResult:
    """One model on one area × season."""

    model: str
    region: str
    season: str
    record: dict
    spatial: dict
    temporal: dict | None
    rank: object | None
    per_day: pd.DataFrame
    example: xr.Dataset  # the first test day: coarse, truth, members
    daily: xr.Dataset  # per-day sums and curves for the bootstrap (data.bootstrap)
    split: str = "test"  # the days scored: "test" (random days), "time-heldout" or "val"

    @property
    def pair(self) -> tuple[str, str, str]:
        """What the scores compare within: one area × season on one kind of days."""
        return self.region, self.season, self.split


def collect(paths: Sequence[Path]) -> dict[tuple[str, str, int], dict[str, Path]]:
    """Downscaler checkpoints by (region, season, held-out year; 0 for the random split) →
    {kind: path}; directories are searched recursively. Models held out in time are another
    group of the same pair (scored on their own days, in the same report). Two checkpoints
    of the same kind for one group are refused (ambiguous)."""
    found: dict[tuple[str, str, int], dict[str, Path]] = {}
    for p in paths:
        p = Path(p).expanduser()
        if p.is_dir():
            infos = [(i.path, i.kind, i.region, i.season) for i in find_checkpoints(p)]
        elif p.exists():
            m = read_manifest(p)
            infos = [(p, m.get("kind"), m.get("region"), m.get("season"))]
        else:
            raise FinescaleError(f"checkpoint path not found: {p}")
        for path, kind, region, season in infos:
            if kind not in KINDS:
                continue  # encoders and resume files are not models to score
            held = int(read_manifest(path).get("split", {}).get("heldout_year", 0))
            slot = found.setdefault((region, season, held), {})
            if kind in slot and slot[kind].resolve() != path.resolve():
                also = f" held out in {held}" if held else ""
                raise FinescaleError(f"two {kind} checkpoints for {region} {season}{also}: "
                                     f"{slot[kind]} and {path}; pass one")
            slot[kind] = path
    if not found:
        raise FinescaleError(f"no downscaler checkpoints in {', '.join(map(str, paths))}")
    return dict(sorted(found.items()))


def _eval_days(ds: DatasetDir, region: str, season: str, split: dict, n: int,
               which: str = "test") -> pd.DatetimeIndex:
    """The first ``n`` days (date order) of the checkpoint's test or validation days; the
    validation pool also holds pre-season buffer days, which are left out (another season's
    model would generate them)."""
    fine_days = pd.DatetimeIndex(ds.region(region).fine["time"].values)
    days = getattr(make_split(fine_days, season, SplitConfig(**split)), which)
    days = days[in_season(days, season)]
    if days.size == 0:
        raise FinescaleError(f"{region} {season}: the split has no {which} days")
    return days[:n] if n else days


def _pair_split(models: dict[str, Path]) -> dict:
    """The split every model of a pair was trained with; models trained on different splits
    cannot be scored on the same days (one's test days are another's training days)."""
    splits = {kind: read_manifest(path)["split"] for kind, path in models.items()}
    first_kind, first = next(iter(splits.items()))
    for kind, split in splits.items():
        if SplitConfig(**split) != SplitConfig(**first):
            raise FinescaleError(
                f"{models[kind]} was trained on another split than {models[first_kind]} "
                f"({split} vs {first}): score them separately")
    return first


def _rollout_days(ds: DatasetDir, region: str, start: pd.Timestamp, n: int) -> pd.DatetimeIndex:
    """Up to ``n`` days from ``start`` that all have fine truth (contiguous)."""
    fine_days = pd.DatetimeIndex(ds.region(region).fine["time"].values)
    days = pd.date_range(start, periods=n, freq="D")
    inside = days.isin(fine_days) & in_season(days, season_of([start])[0])
    stop = int(inside.argmin()) if not inside.all() else n
    return days[:stop]


def _score(name: str, region: str, season: str, test: xr.Dataset, roll: xr.Dataset | None,
           variable: str, cfg: EvalConfig, seconds: float, source: str, split: str,
           dress: dressing.Dressing | None = None) -> PairResult:
    g, t = ev.check_generated(test, variable, name=f"{name} {region} {season}")
    kind = str(test.attrs.get("transform", "log"))
    deterministic = name.startswith("interp") or not KINDS[name].stochastic
    rec = ev.pointwise(g, t, kind)
    sp = ev.spatial(g, t, cfg.curves, kind)
    tm = None
    if roll is not None:
        rg, rt = ev.check_generated(roll, variable, name=f"{name} {region} {season} roll-out")
        if rg.sizes["time"] >= 3:
            tm = ev.temporal(rg, rt, cfg.curves, kind)
    record = {"model": name, "region": region, "season": season, **rec,
              "variogram_error": sp["variogram_error"], "spectrum_error": sp["spectrum_error"],
              "acf_error": tm["acf_error"] if tm else None,
              "range_km": sp["fit"]["range_km"], "range_km_truth": sp["fit_truth"]["range_km"],
              "rollout_days": int(roll.sizes["time"]) if roll is not None else 0,
              "seconds": round(seconds, 2), "source": source,
              "weights_sha256": sha256(Path(source)) if source.endswith(".safetensors")
              and Path(source).exists() else None,
              "split": split,
              "sampler": test.attrs.get("sampler", "none"),
              "sampler_steps": int(test.attrs.get("sampler_steps", 0))}
    days = ev.per_day(g, t, kind)
    days["variogram_error"] = [curve_error(np.asarray(a), np.asarray(b)) for a, b in
                               zip(sp["gamma_days"], sp["gamma_truth_days"], strict=True)]
    daily = bootstrap.daily_stats(g, t, sp, kind, deterministic=deterministic)
    if dress is not None:
        c = dressing.crps(ev.scaled(kind, g).isel(member=0).values, ev.scaled(kind, t).values,
                          dress)
        daily["sdressed"] = ("time", np.nansum(c, axis=(1, 2)))
        days["crps_dressed"] = np.nanmean(c, axis=(1, 2))
        record |= {"crps_dressed": float(np.nanmean(c)), "dressing_days": dress.days}
    return PairResult(model=name, region=region, season=season, record=record, spatial=sp,
                      temporal=tm, rank=ev.rank_counts(g, t, cfg.curves.seed, kind),
                      per_day=days, example=test.isel(time=[0]), daily=daily, split=split)


DRESS_DAYS = 20  # validation days a deterministic model's error distribution is learned on


def _dressing(ds: DatasetDir, region: str, season: str, split: dict, kind: str,
              path: Path | None, cfg: EvalConfig, device, cancel, cache
              ) -> dressing.Dressing | None:
    """A deterministic model's (or interpolation's) error distribution, learned on the
    first validation days of its split (never a test day); None without validation days."""
    try:
        days = _eval_days(ds, region, season, split, DRESS_DAYS, "val")
    except FinescaleError:
        return None
    if kind.startswith("interp:"):
        val = interpolate_region(ds, region, kind.split(":", 1)[1], days)
    else:
        val, _, _ = _generated(ds, path, kind, region, season, days, None, cfg, device, cancel,
                               cache)
    g, t = ev.check_generated(val, ds.variable, name=f"{kind} {region} {season} validation")
    tf = str(val.attrs.get("transform", "log"))
    return dressing.fit(ev.scaled(tf, g).isel(member=0).values, ev.scaled(tf, t).values)




def add_intervals(results: list[PairResult], cfg: EvalConfig) -> list[PairResult]:
    """Bootstrap intervals (over the scored days, in moving blocks) into each record: every
    model's own ``{score}_ci_low/_ci_high``; on every other model's row the paired
    difference ``{score}_vs_diffusion`` = diffusion − model with its interval, its p-value
    and whether the paper's claim (diffusion is better) ``holds``, ``fails`` or is
    ``undecided``."""
    if not cfg.boot:
        return results
    ref = {r.pair: r for r in results if r.model == REFERENCE}
    for r in results:
        days = r.daily.sizes["time"]
        block = cfg.block or bootstrap.block_length(days)
        r.record["boot_block"] = block
        for k, (lo, hi) in bootstrap.intervals(r.daily, cfg.boot, cfg.seed,
                                               block=block).items():
            r.record[f"{k}_ci_low"], r.record[f"{k}_ci_high"] = lo, hi
        base = ref.get(r.pair)
        if base is None or r is base:
            continue
        for k, (d, lo, hi, p) in bootstrap.paired(base.daily, r.daily, cfg.boot, cfg.seed,
                                                  block=block).items():
            name = f"{k}_vs_{REFERENCE}"
            r.record |= {name: d, f"{name}_ci_low": lo, f"{name}_ci_high": hi,
                         f"{name}_p": p, f"{name}_claim": bootstrap.verdict(k, lo, hi)}
    return results


def adjust(results: list[PairResult]) -> int:
    """Holm-adjusted verdicts (``{score}_vs_diffusion_claim_holm``) over the report's family
    of claims — every :data:`VERDICTS` score of every model but diffusion and its students,
    every pair; returns the number of comparisons."""
    cells = [(r.record, f"{k}_vs_{REFERENCE}", k) for r in results
             if r.model not in NOT_CLAIMS for k in VERDICTS
             if f"{k}_vs_{REFERENCE}_p" in r.record]
    adj = bootstrap.holm(np.array([rec[f"{name}_p"] for rec, name, _ in cells]))
    for (rec, name, k), p in zip(cells, adj, strict=True):
        rec[f"{name}_p_holm"] = float(p)
        rec[f"{name}_claim_holm"] = bootstrap.verdict_p(k, rec[name], p)
    return len(cells)


def _generated(ds: DatasetDir, path: Path, kind: str, region: str, season: str,
               days: pd.DatetimeIndex, roll_days: pd.DatetimeIndex | None, cfg: EvalConfig,
               device, cancel: threading.Event | None, cache: GenerationCache | None
               ) -> tuple[xr.Dataset, xr.Dataset | None, float]:
    """One model's test days and strict roll-out, and the seconds generating them took:
    from the cache, else generated (and kept)."""
    members = cfg.members if KINDS[kind].stochastic else 1
    roll_days = roll_days if roll_days is not None and roll_days.size else None
    key = None
    if cache is not None:
        # the noise memory the model samples with, not "its own": a changed kind default is
        # a new key, never a stale hit
        used = replace(cfg.sampler, noise_rho=noise_rho(cfg.sampler, kind))
        key = entry_key(path, fingerprint(ds.manifest, region), days, roll_days, members,
                        used, cfg.seed, str(device))
        hit = cache.get(region, season, kind, key)
        if hit is not None:
            return hit
    where = (region, season, kind, key)
    loaded: list = []

    def model():  # loaded once, and only when a piece is not kept yet
        loaded[:] = loaded or [load_model(path, ds, device)]
        return loaded[0]

    def test_piece(chunk: pd.DatetimeIndex) -> xr.Dataset:
        return generate_days(ds, [model()], chunk, members=members, sampler=cfg.sampler,
                             seed=cfg.seed, device=device, progress=False, cancel=cancel)

    test, seconds = kept_days(cache, where, days, test_piece)
    roll = None
    if roll_days is not None:
        roll, s = _kept_rollout(cache, where, ds, model, roll_days, members, cfg, device,
                                cancel)
        seconds += s
    if cache is not None:
        cache.put(region, season, kind, key, test, roll, seconds)
    return test, roll, seconds


ROLL_PIECE = 15  # roll-out days per kept piece


def _kept_rollout(cache: GenerationCache | None, where: tuple, ds: DatasetDir,
                  model: Callable[[], LoadedModel], days: pd.DatetimeIndex, members: int,
                  cfg: EvalConfig, device, cancel: threading.Event | None
                  ) -> tuple[xr.Dataset, float]:
    """The strict roll-out through ``days``, kept ``ROLL_PIECE`` days at a time with the
    members' history after each piece: a stopped run continues after its last kept piece
    (the same fields as one pass), and the seconds all pieces took."""
    kept: list[tuple[xr.Dataset, float]] = []
    total = -(-days.size // ROLL_PIECE)
    while cache is not None and len(kept) < total:
        hit = cache.get_piece(*where, f"roll-{len(kept):04d}")
        if hit is None:
            break
        kept.append(hit)
    hist = cache.piece_history(*where, f"roll-{len(kept) - 1:04d}") if kept else None
    if hist is None:  # nothing kept yet (or by a version that kept no history): from the start
        kept = []
    if len(kept) < total:
        t0 = time.perf_counter()
        for i, piece, after in generate_pieces(
                ds, [model()], f"{days[0]:%Y-%m-%d}", f"{days[-1]:%Y-%m-%d}", ROLL_PIECE,
                members=members, sampler=cfg.sampler, seed=cfg.seed, device=device,
                cancel=cancel, resume=(len(kept), hist) if kept else None):
            seconds, t0 = time.perf_counter() - t0, time.perf_counter()
            if cache is not None:
                cache.put_piece(*where, f"roll-{i:04d}", piece, seconds, history=after)
            kept.append((piece, seconds))
    return join(kept)


def _pair_worker(data: str, paths: list[str], cfg: EvalConfig, device: str, threads: int,
                 cache: Path | None) -> list[PairResult]:
    """One area × season in a worker process (spawned: safe with CUDA)."""
    from finescale.data.layout import open_dataset

    torch.set_num_threads(threads)
    return evaluate(open_dataset(data), [Path(p) for p in paths], cfg, device, progress=False,
                    cache=cache)


def _evaluate_parallel(ds: DatasetDir, pairs: dict, cfg: EvalConfig, device: str, workers: int,
                       progress: bool, cancel: threading.Event | None, cache: Path | None
                       ) -> list[PairResult]:
    """Pairs are independent: score them in ``workers`` processes, results in pair order.

    Worth it where one process cannot fill the machine (many cores, or a GPU that small
    networks leave idle between kernel launches).
    """
    threads = max(1, (os.cpu_count() or 1) // workers)
    out: dict[tuple[str, str, int], list[PairResult]] = {}
    # a Pool, not a ProcessPoolExecutor: terminate() stops running workers at once (an
    # executor's shutdown waits for each to finish its pair), and each worker dies with us
    pool = get_context("spawn").Pool(workers, initializer=die_with_parent)
    bar = tqdm(total=len(pairs), desc="evaluate", unit="pair", disable=not progress)
    try:
        pending = {key: pool.apply_async(_pair_worker, (
            str(ds.path), [str(p) for p in m.values()], cfg, device, threads, cache))
            for key, m in pairs.items()}
        while pending:
            for key in [k for k, r in pending.items() if r.ready()]:
                out[key] = pending.pop(key).get()  # a worker's error is raised here
                bar.update()
            if cancel is not None and cancel.is_set():
                raise FinescaleError("evaluation cancelled")
            time.sleep(0.2)
        pool.close()
    except BaseException:  # an error, a cancel, Ctrl-C or SIGTERM: stop every worker now
        pool.terminate()
        raise
    finally:
        pool.join()
        bar.close()
    return [r for key in pairs for r in out[key]]


def evaluate(ds: DatasetDir, checkpoints: Sequence[Path], cfg: EvalConfig | None = None,
             device: torch.device | str = "cpu", progress: bool = True,
             cancel: threading.Event | None = None, workers: int = 1,
             callback: Callable[[int, int], None] | None = None,
             cache: Path | None = None) -> list[PairResult]:
    """Score all checkpoints found under ``checkpoints`` plus interpolation, per pair;
    ``callback(done, total)`` after each model (serial runs). With ``cache``, each model's
    generated fields are kept there (:mod:`model.evalcache`) and reused by a later run with
    the same weights and settings: a stopped evaluation resumes where it was."""
    cfg = cfg or EvalConfig()
    pairs = collect(checkpoints)
    for (region, _season, _held), models in pairs.items():
        if region not in ds.regions:
            raise FinescaleError(f"{next(iter(models.values()))} is for region {region!r}, "
                                 f"which dataset {ds.path} lacks (it has "
                                 f"{', '.join(ds.regions)})")
    if workers < 1:
        raise FinescaleError(f"workers must be >= 1, got {workers}")
    if workers > 1 and len(pairs) > 1:
        # each worker's evaluate() adds its pair's intervals
        out = _evaluate_parallel(ds, pairs, cfg, str(device), min(workers, len(pairs)),
                                 progress, cancel, cache)
        adjust(out)
        return out
    jobs = [(r, s, h, k) for (r, s, h), models in pairs.items()
            for k in [*[k for k in KINDS if k in models],
                      *[f"interp:{m}" for m in cfg.interp]]]
    results: list[PairResult] = []
    var = ds.variable
    kept = None if cache is None else GenerationCache(cache)
    bar = tqdm(jobs, desc="evaluate", unit="model", disable=not progress)
    for i, (region, season, held, kind) in enumerate(bar):
        if callback is not None:
            callback(i, len(jobs))
        bar.set_postfix_str(f"{region} {season} {kind}" + (f" (held out {held})" if held else ""))
        if cancel is not None and cancel.is_set():
            raise FinescaleError("evaluation cancelled")
        models = pairs[(region, season, held)]
        split = _pair_split(models)
        days = _eval_days(ds, region, season, split, cfg.days, cfg.split)
        label = SplitConfig(**split).label if cfg.split == "test" else cfg.split
        # held out in time: the roll-out runs through the whole season-year (out of sample)
        n_roll = max(cfg.rollout, days.size) if held and cfg.rollout else cfg.rollout
        roll_days = _rollout_days(ds, region, days[0], n_roll) if n_roll else None
        if kind.startswith("interp:"):
            t0 = time.perf_counter()
            method = kind.split(":", 1)[1]
            test = interpolate_region(ds, region, method, days)
            roll = (interpolate_region(ds, region, method, roll_days)
                    if roll_days is not None and roll_days.size else None)
            name, source, seconds = f"interp-{method}", "none", time.perf_counter() - t0
        else:
            test, roll, seconds = _generated(ds, models[kind], kind, region, season, days,
                                             roll_days, cfg, device, cancel, kept)
            name, source = kind, str(models[kind])
        dress = None
        if kind.startswith("interp:") or not KINDS[kind].stochastic:
            dress = _dressing(ds, region, season, split, kind, models.get(kind), cfg, device,
                              cancel, kept)
        result = _score(name, region, season, test, roll, var, cfg, seconds, source, label,
                        dress)
        if held:  # which season-year: a report may hold several of one pair
            result.record["heldout_year"] = held
        results.append(result)
    add_intervals(results, cfg)
    adjust(results)
    return results
