"""``finescale bench``: measured speed against the paper's protocol, on one machine.

Sampling is timed on full-area maps with the same trained denoiser and the same day:
(a) the paper's protocol (ancestral sampling, 200 steps, 16 × 16 tiles at stride 2 with halo
cropping and Hann blending) and (b) the default fast sampler, plus bilinear interpolation
as the floor. Every step of (a) costs the same (same tiles, same network), so (a) is timed
over ``paper_timed_steps`` steps and scaled to 200 — the JSON says so. Quality of (a) and
(b) is measured on a centred crop of a few held-out test days, where the full 200-step
protocol is affordable on a CPU. FLOP/s come from PyTorch's FLOP counter and are compared
with a plain float32 matmul measured in the same run.
"""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import torch
from torch.utils.flop_counter import FlopCounterMode

from finescale.data.diagnostics import curve_error, nanmean_curves, semivariogram
from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir
from finescale.data.scores import r2_pearson
from finescale.data.seasons import SEASONS
from finescale.data.splits import SplitConfig, make_split
from finescale.data.transforms import analysis
from finescale.model.config import PRESETS, SamplerConfig
from finescale.model.datasets import season_data
from finescale.model.device import compile_pays, fast_precision
from finescale.model.inference import day_noise, load_model, prepare_run
from finescale.model.kinds import KINDS, noise_rho
from finescale.model.registry import find_checkpoints, is_student_of, record_checkpoints
from finescale.model.rollout import warm_history
from finescale.model.training import build_encoder, downscaler_batch

PAPER_STEPS = 200


@dataclass(frozen=True)
class BenchConfig:
    """How much to measure; ``quick()`` fits a few minutes on 2 CPU cores."""

    season: str = "JJA"
    regions: tuple[str, ...] = ("area0", "area1")
    fast_steps: int = SamplerConfig.steps
    paper_steps: int = PAPER_STEPS
    paper_timed_steps: int = 3  # full-area steps of the paper protocol actually timed
    fast_days: int = 2  # full-area days timed with the fast sampler
    quality_crop: int = 48  # px, centred crop where both samplers run in full
    quality_days: int = 3
    quality_members: int = 2
    train_steps: int = 3  # timed optimiser steps per model size
    train_presets: tuple[str, ...] = ("quick", "paper")
    matmul_n: int = 2048
    record_days: int = 4  # days of the reconstruction row (default sampler, windows)
    record_members: int = 4
    record_only: bool = False  # only the reconstruction rows (the record's speed)
    seed: int = 0

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls(paper_timed_steps=1, fast_days=1, quality_crop=32, quality_days=1,
                   quality_members=1, train_steps=1, record_days=2, record_members=2)


@dataclass
class Bench:
    machine: dict
    config: dict
    matmul_gflops: float = 0.0
    sampling: list[dict] = field(default_factory=list)
    training: list[dict] = field(default_factory=list)
    memory: dict = field(default_factory=dict)


class PeakRSS:
    """Peak resident memory (process and its children) while the block runs.

    Sampled every ``interval`` seconds in a thread; ``pid`` None watches this process.
    ``children=False`` skips the child processes: finding them reads every process's
    /proc entry, which at 20 ms took measurable CPU from a browser benchmark on 2 cores.
    """

    def __init__(self, pid: int | None = None, *, interval: float = 0.02,
                 children: bool = True):
        self.proc, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self.interval, self.children = interval, children

    def _rss(self) -> int:
        rss = self.proc.memory_info().rss
        if self.children:
            rss += sum(c.memory_info().rss for c in self.proc.children(recursive=True))
        return rss

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._rss())
            except psutil.Error:  # the watched process ended
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._rss()
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        try:
            self.peak = max(self.peak, self._rss())
        except psutil.Error:
            pass

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    _sync(device)
    t0 = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - t0, out


def matmul_gflops(n: int, device: torch.device, repeats: int = 5) -> float:
    """Achieved float32 GFLOP/s of a square matmul: the machine's practical ceiling."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b  # warm-up
    t, _ = _timed(lambda: [a @ b for _ in range(repeats)], device)
    return 2 * n**3 * repeats / t / 1e9


def _flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return int(fc.get_total_flops())


def _checkpoints(dirs: list[Path], region: str, season: str) -> dict[str, Path]:
    found = {i.kind: i.path for i in find_checkpoints(*dirs)
             if i.region == region and i.season == season}
    if "diffusion" not in found:
        raise FinescaleError(f"no diffusion checkpoint for {region} {season} in "
                             f"{', '.join(map(str, dirs))}")
    if "distilled" in found and not is_student_of(found["distilled"], found["diffusion"]):
        del found["distilled"]  # a student of another teacher says nothing about this one
    return found


def _quality(pred: np.ndarray, truth: np.ndarray, lat: np.ndarray, lon: np.ndarray,
             seed: int, kind: str) -> dict[str, float]:
    """R² (analysis scale, member mean) and variogram error of members, on the crop."""
    lp, lt = analysis(kind, pred), analysis(kind, truth)
    r2 = r2_pearson(lp.mean(axis=0), lt)
    gt = semivariogram(lt, lat, lon, pairs=20_000, seed=seed)[1]
    gg = nanmean_curves([semivariogram(m, lat, lon, pairs=20_000, seed=seed)[1] for m in lp])
    return {"r2": r2, "variogram_error": curve_error(gg, gt)}


@dataclass
class _Timing:
    """One checkpoint's first test days, ready to be stepped and timed."""

    lm: object  # the loaded model
    run: object  # its prepared run
    days: pd.DatetimeIndex
    cfg: BenchConfig
    device: torch.device

    @property
    def sd(self):
        return self.run.sds[self.lm.season]

    def hist(self, day, window=None) -> torch.Tensor:
        x = torch.from_numpy(warm_history(self.sd, day, self.lm.enc_cfg.history))[None]
        x = x.to(self.device)
        return x if window is None else x[..., window[0], window[1]]

    def per_day(self, fn: Callable[[pd.Timestamp], object]) -> float:
        """Mean seconds of ``fn(day)`` over the timed days."""
        return float(np.mean([_timed(lambda d=d: fn(d), self.device)[0]
                              for d in self.days[: self.cfg.fast_days]]))

    def sampler(self, s: SamplerConfig, run=None) -> float:
        """Mean seconds of one map per member with sampler ``s`` (after a warm-up)."""
        run = run or self.run
        run.step(self.days[0], self.hist(self.days[0]), replace(s, steps=1), self.cfg.seed)
        return self.per_day(lambda d: run.step(d, self.hist(d), s, self.cfg.seed))


def _bench_samplers(cfg: BenchConfig) -> dict[str, SamplerConfig]:
    """What is timed: the whole-map pass in fp32 and bf16 (what the README's tables
    measured), the paper's protocol, and the default as used (training-size windows)."""
    return {"fast": SamplerConfig(protocol="fast", steps=cfg.fast_steps, windows=False),
            "fast_bf16": SamplerConfig(protocol="fast", steps=cfg.fast_steps,
                                       precision="bf16", windows=False),
            "paper": SamplerConfig(protocol="paper", steps=cfg.paper_steps),
            "fast_windows": SamplerConfig(protocol="fast", steps=cfg.fast_steps)}


def _paper_seconds(t: _Timing) -> tuple[float, float, float]:
    """The paper protocol's seconds per map, extrapolated from ``paper_timed_steps`` of its
    steps: (full, per step, the encoder features' share)."""
    cfg, d0 = t.cfg, t.days[0]
    timed = SamplerConfig(protocol="paper", steps=cfg.paper_timed_steps)
    t_paper, _ = _timed(lambda: t.run.step(d0, t.hist(d0), timed, cfg.seed), t.device)
    t_feat = 0.0
    if t.lm.encoder is not None:
        t_feat, _ = _timed(lambda: t.lm.encoder.features(t.hist(d0), size=t.sd.shape,
                                                         patch=t.lm.cfg.patch), t.device)
    per_step = max(t_paper - t_feat, 1e-9) / cfg.paper_timed_steps
    return t_feat + per_step * cfg.paper_steps, per_step, t_feat


def _flops_per_call(t: _Timing, paper: SamplerConfig) -> tuple[int, int]:
    """FLOPs of one network evaluation over the whole map, and of one tiled step."""
    from finescale.model.samplers import TiledDenoiser

    h, w = t.sd.shape
    net = t.lm.model
    cond = torch.zeros((1, net.net.inp.in_channels - 1, h, w), device=t.device)
    x = torch.zeros((1, 1, h, w), device=t.device)
    sig = torch.ones(1, device=t.device)
    tiled = TiledDenoiser(net, tile=paper.tile, stride=paper.tile_stride, halo=paper.halo,
                          batch=paper.tile_batch)
    return _flops(lambda: net(x, sig, cond)), _flops(lambda: tiled(x, sig, cond))


def _bench_quality(t: _Timing, ds: DatasetDir, runs: dict[str, tuple]) -> dict[str, dict]:
    """R² and variogram error of each sampler (``runs``: name → (sampler, run)) and of
    bilinear, in full on a centred crop, the same days and seeds."""
    cfg, lm, sd = t.cfg, t.lm, t.sd
    rd = ds.region(lm.region)
    h, w = sd.shape
    c = min(cfg.quality_crop, h, w)
    win = (slice((h - c) // 2, (h - c) // 2 + c), slice((w - c) // 2, (w - c) // 2 + c))
    lat, lon = rd.fine["lat"].values[win[0]], rd.fine["lon"].values[win[1]]
    preds: dict[str, list[np.ndarray]] = {k: [] for k in [*runs, "bilinear"]}
    truths = []
    for d in t.days[: cfg.quality_days]:
        hm = t.hist(d, win).expand(cfg.quality_members, -1, -1, -1)
        for name, (s, r) in runs.items():
            xs = r.step(d, hm, s, cfg.seed, window=win)
            preds[name].append(lm.transform.inverse(xs.cpu().numpy().astype(np.float64)))
        preds["bilinear"].append(lm.transform.inverse(sd.base(d, win)[None].astype(np.float64)))
        truths.append(rd.fine.sel(time=d).values[win[0], win[1]])
    q = {k: [_quality(p, tr, lat, lon, cfg.seed, ds.transform)
             for p, tr in zip(v, truths, strict=True)] for k, v in preds.items()}
    out = {k: {m: float(np.mean([r[m] for r in v])) for m in ("r2", "variogram_error")}
           for k, v in q.items()}
    out["crop"] = c
    return out


def bench_sampling(ds: DatasetDir, ckpt: Path, cfg: BenchConfig, device: torch.device,
                   student: Path | None = None) -> list[dict]:
    """Seconds per map per member for both samplers and bilinear, with their quality, and
    for a distilled ``student`` of the diffusion checkpoint in 1 and 2 network calls."""
    lm = load_model(ckpt, ds, device)
    fine_days = pd.DatetimeIndex(ds.region(lm.region).fine["time"].values)
    days = make_split(fine_days, lm.season, SplitConfig(**lm.manifest["split"])).test
    t = _Timing(lm, prepare_run(ds, [lm], days[:1], device, None), days, cfg, device)
    sam = _bench_samplers(cfg)
    with torch.no_grad():
        sec = {k: t.sampler(sam[k]) for k in ("fast", "fast_bf16")}
        paper_s, per_step, t_feat = _paper_seconds(t)
        f_full, f_tiled = _flops_per_call(t, sam["paper"])
        sec["bilinear"] = _timed(lambda: t.sd.base(days[0]), device)[0]  # the regrid itself
        sec["fast_windows"] = t.sampler(sam["fast_windows"])
        # the day-correlated noise's share of it, against one independent draw per day
        rho = noise_rho(sam["fast_windows"], lm.kind)
        noise = {r: t.per_day(lambda d, r=r: day_noise((1, 1, *t.sd.shape), d, cfg.seed, r,
                                                       device)) for r in (0.0, rho)}
        runs = {k: (sam[k], t.run) for k in ("paper", "fast", "fast_bf16", "fast_windows")}
        if student is not None:  # timed as it is used: windows, its own overlap
            srun = prepare_run(ds, [student], days[:1], device, None)
            for calls in (1, 2):
                s = replace(sam["fast_windows"], calls=calls)
                runs[f"distilled_{calls}call"] = (s, srun)
                sec[f"distilled_{calls}call"] = t.sampler(s, srun)
        qm = _bench_quality(t, ds, runs)
    base = {"region": lm.region, "season": lm.season, "grid": list(t.sd.shape),
            "device": str(device), "checkpoint": str(ckpt), "quality_crop": qm.pop("crop"),
            "quality_days": len(days[: cfg.quality_days]),
            "quality_members": cfg.quality_members}
    fast, used, nfe = sam["fast"], sam["fast_windows"], sam["fast"].network_calls
    rows = [{**base, "method": "paper_protocol", "steps": cfg.paper_steps,
             "seconds_per_map_member": paper_s, "extrapolated": True,
             "timed_steps": cfg.paper_timed_steps,
             "gflops_per_map": f_tiled * cfg.paper_steps / 1e9,
             "achieved_gflops": f_tiled / per_step / 1e9, **qm["paper"]},
            {**base, "method": "fast", "steps": cfg.fast_steps, "solver": fast.solver,
             "nfe": nfe, "seconds_per_map_member": sec["fast"], "extrapolated": False,
             "gflops_per_map": f_full * nfe / 1e9,
             "achieved_gflops": f_full * nfe / max(sec["fast"] - t_feat, 1e-9) / 1e9,
             "speedup_vs_paper_protocol": paper_s / sec["fast"], **qm["fast"]},
            {**base, "method": "fast_bf16", "steps": cfg.fast_steps, "solver": fast.solver,
             "nfe": nfe, "seconds_per_map_member": sec["fast_bf16"], "extrapolated": False,
             "speedup_vs_paper_protocol": paper_s / sec["fast_bf16"],
             "speedup_vs_fast_fp32": sec["fast"] / sec["fast_bf16"], **qm["fast_bf16"]},
            {**base, "method": "fast_windows", "steps": cfg.fast_steps, "solver": used.solver,
             "nfe": used.network_calls, "windows": True, "window_overlap": used.window_overlap,
             "seconds_per_map_member": sec["fast_windows"], "noise_rho": rho,
             "noise_seconds": noise[rho], "noise_seconds_independent": noise[0.0],
             "extrapolated": False,
             "speedup_vs_paper_protocol": paper_s / sec["fast_windows"], **qm["fast_windows"]}]
    for name, (s, r) in runs.items():
        if name.startswith("distilled_"):
            rows.append({**base, "method": name, "checkpoint": str(student),
                         "calls": s.calls, "nfe": s.calls, "windows": True,
                         "window_overlap": r.first.cfg.student_overlap,
                         "window_halo": r.first.cfg.student_halo,
                         "seconds_per_map_member": sec[name], "extrapolated": False,
                         "speedup_vs_paper_protocol": paper_s / sec[name],
                         "speedup_vs_teacher": sec["fast_windows"] / sec[name], **qm[name]})
    rows.append({**base, "method": "bilinear", "seconds_per_map_member": sec["bilinear"],
                 "extrapolated": False, **qm["bilinear"]})
    return rows


FULL_RECORD_DAYS = 9132  # 2000-01-01 .. 2024-12-31
FULL_RECORD_MEMBERS = 8


def record_sample(ds: DatasetDir, checkpoint_dirs: list[Path], region: str, season: str,
                  n_days: int) -> tuple[Path, str, pd.DatetimeIndex]:
    """What the record's timings run: its default checkpoint for ``season`` (the students
    where every season has one, else what this season has) and the first ``n_days`` days of
    the season in a year far from G5NR's (the coarse record's middle year)."""
    from finescale.data.seasons import in_season

    coarse = pd.DatetimeIndex(ds.region(region).coarse["time"].values)
    mid = coarse[coarse.year == coarse[len(coarse) // 2].year]
    start = mid[in_season(mid, season)][0]
    try:
        ckpts, kind = record_checkpoints(list(checkpoint_dirs), region, "auto", list(SEASONS))
        ckpt = ckpts[SEASONS.index(season)]
    except FinescaleError:
        (ckpt,), kind = record_checkpoints(list(checkpoint_dirs), region, "auto", [season])
    return ckpt, kind, pd.date_range(start, periods=n_days)


def bench_record(ds: DatasetDir, checkpoint_dirs: list[Path], region: str, cfg: BenchConfig,
                 device: torch.device) -> dict:
    """Member-days per second of ``finescale reconstruct`` (default sampler), its FLOP/s,
    and the projected wall time of the full 2000-2024 × 8-member record on this device."""
    import tempfile

    from finescale.data.record import RecordLayout
    from finescale.model.reconstruct import RecordConfig, reconstruct, roll_slab

    ckpt, kind, days = record_sample(ds, checkpoint_dirs, region, cfg.season, cfg.record_days)
    start, end = days[0], days[-1]
    lay = RecordLayout(f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}", cfg.record_members,
                       segment_days=cfg.record_days)
    rc = RecordConfig(layout=lay, spinup=0, seed=cfg.seed,
                      sampler=SamplerConfig(precision=fast_precision(device)))
    compiled = compile_pays(device, rc.sampler.precision)  # as `reconstruct` decides
    run = prepare_run(ds, [ckpt], lay.days, device, region)
    day1 = lay.days[:1]
    flops = _flops(lambda: roll_slab(run, day1, 1, 0, cfg.seed, rc.sampler))  # eager
    if compiled:
        run.compile()
    # warm-up: two days, so that a compiled run meets both of its shapes (a history the
    # members share, then their own) before it is timed
    roll_slab(run, lay.days[:2], cfg.record_members, 0, cfg.seed, rc.sampler)
    with tempfile.TemporaryDirectory() as tmp:
        sec, _ = _timed(lambda: reconstruct(ds, [run.first], rc, Path(tmp) / "r.zarr",
                                            device=device, progress=False,
                                            compile_networks=compiled), device)
    md = lay.days.size * cfg.record_members
    rate = md / sec
    calls = rc.sampler.calls if kind == "distilled" else rc.sampler.network_calls
    return {"region": region, "season": cfg.season, "method": "reconstruct",
            "kind": kind, "checkpoint": ckpt.name,
            "device": str(device), "grid": list(run.sds[run.first.season].shape),
            "solver": rc.sampler.solver, "nfe": calls, "precision": rc.sampler.precision,
            "compiled": compiled,
            "windows": rc.sampler.windows, "members": cfg.record_members,
            "days": lay.days.size, "seconds": sec, "member_days_per_s": rate,
            "seconds_per_map_member": sec / md, "gflops_per_map": flops / 1e9,
            "achieved_gflops": flops * md / sec / 1e9,
            "projected_full_record_hours": FULL_RECORD_DAYS * FULL_RECORD_MEMBERS / rate / 3600,
            "extrapolated": False, "r2": float("nan"), "variogram_error": float("nan")}


def _step_seconds(loss_fn: Callable[[], torch.Tensor], model: torch.nn.Module, lr: float,
                  steps: int, device: torch.device) -> float:
    """Seconds per Adam step (forward, backward, update), after one warm-up step."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step() -> None:
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    return _timed(lambda: [step() for _ in range(steps)], device)[0] / steps


def bench_training(ds: DatasetDir, region: str, season: str, cfg: BenchConfig,
                   device: torch.device) -> list[dict]:
    """Samples/s of one optimiser step for the encoder and the diffusion downscaler."""
    rows = []
    sd = season_data(ds.region(region), season, in_memory=True)
    rng = np.random.default_rng(cfg.seed)
    for name in cfg.train_presets:
        preset = PRESETS[name]
        ec, dc = preset.encoder, preset.downscaler
        enc = build_encoder(ec).to(device)
        coarse = torch.from_numpy(sd.coarse[:]).to(device)
        p = min(ec.patch, *coarse.shape[1:])
        t_idx = rng.integers(ec.history, coarse.shape[0], ec.batch)
        xb = torch.stack([coarse[t - ec.history: t, :p, :p] for t in t_idx])
        yb = torch.stack([coarse[t, :p, :p][None] for t in t_idx])
        t_enc = _step_seconds(lambda m=enc, x=xb, y=yb: (m(x) - y).abs().mean(), enc, ec.lr,
                              cfg.train_steps, device)
        enc.eval()
        model = KINDS["diffusion"].build(ec, dc).to(device)
        tgt, cond = downscaler_batch(sd, sd.split.train, dc, ec.history, enc, dc.batch, rng,
                                     device)
        loss = KINDS["diffusion"].loss
        t_ds = _step_seconds(lambda m=model, t=tgt, c=cond, d=dc, f=loss: f(m, t, c, d), model,
                             dc.lr, cfg.train_steps, device)
        rows.append({"preset": name, "region": region, "season": season, "device": str(device),
                     "encoder_samples_per_s": ec.batch / t_enc,
                     "encoder_s_per_step": t_enc,
                     "downscaler_samples_per_s": dc.batch / t_ds,
                     "downscaler_s_per_step": t_ds,
                     "encoder_params": sum(q.numel() for q in enc.parameters()),
                     "downscaler_params": sum(q.numel() for q in model.parameters())})
        if name == "quick":
            steps_e = ec.epochs * ec.steps_per_epoch
            steps_d = dc.epochs * dc.steps_per_epoch
            rows[-1]["preset_minutes_estimate"] = (steps_e * t_enc + steps_d * t_ds) / 60
    return rows


def run_bench(ds: DatasetDir, checkpoint_dirs: list[Path], cfg: BenchConfig,
              device: torch.device, progress: Callable[[str], None] = print) -> Bench:
    b = Bench(machine={"platform": platform.platform(), "cpu_count": psutil.cpu_count(),
                       "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "device": str(device),
                       "gpu": torch.cuda.get_device_name(device) if device.type == "cuda"
                       else None},
              config=asdict(cfg))
    progress("matmul peak")
    b.matmul_gflops = matmul_gflops(cfg.matmul_n, device)
    regions = [r for r in cfg.regions if r in ds.regions]
    if not regions:
        raise FinescaleError(f"none of {cfg.regions} in dataset {ds.path}")
    with PeakRSS() as gen_mem:
        for r in regions:
            if not cfg.record_only:
                progress(f"sampling {r} {cfg.season}")
                ck = _checkpoints(checkpoint_dirs, r, cfg.season)
                b.sampling += bench_sampling(ds, ck["diffusion"], cfg, device,
                                             student=ck.get("distilled"))
            progress(f"reconstruction {r} {cfg.season}")
            b.sampling.append(bench_record(ds, checkpoint_dirs, r, cfg, device))
    with PeakRSS() as train_mem:
        if not cfg.record_only:
            progress(f"training throughput {regions[0]} {cfg.season}")
            b.training = bench_training(ds, regions[0], cfg.season, cfg, device)
    for row in b.sampling:
        if "achieved_gflops" in row:
            row["fraction_of_matmul_peak"] = row["achieved_gflops"] / b.matmul_gflops
    b.memory = {"generation_peak_rss_mb": gen_mem.mb}
    if not cfg.record_only:
        b.memory["training_peak_rss_mb"] = train_mem.mb
        recorded = [{"checkpoint": i.path.name, "seconds": _recorded_seconds(i.path)}
                    for i in find_checkpoints(*checkpoint_dirs)
                    if i.season == cfg.season and i.region in regions]
        b.training.append({"recorded_training_seconds": recorded})
    return b


def _recorded_seconds(path: Path) -> float | None:
    from finescale.model.checkpoints import read_manifest

    return read_manifest(path).get("training", {}).get("seconds")


def table(b: Bench) -> str:
    """A plain-text summary of the sampling rows."""
    lines = [f"matmul peak: {b.matmul_gflops:.1f} GFLOP/s on {b.machine['device']}",
             f"{'region':7} {'method':15} {'s/map/member':>13} {'speedup':>8} {'GFLOP/s':>8} "
             f"{'%peak':>6} {'R²':>6} {'vario err':>9}"]
    for r in b.sampling:
        lines.append(
            f"{r['region']:7} {r['method']:15} {r['seconds_per_map_member']:13.3f} "
            f"{r.get('speedup_vs_paper_protocol', float('nan')):8.1f} "
            f"{r.get('achieved_gflops', float('nan')):8.1f} "
            f"{100 * r.get('fraction_of_matmul_peak', float('nan')):6.1f} "
            f"{r['r2']:6.3f} {r['variogram_error']:9.3f}")
    for t in b.training:
        if "preset" in t:
            lines.append(f"train {t['preset']:6} encoder {t['encoder_samples_per_s']:8.1f} "
                         f"samples/s, diffusion {t['downscaler_samples_per_s']:8.1f} samples/s")
    lines.append(f"peak RSS: generation {b.memory['generation_peak_rss_mb']} MB"
                 + (f", training {b.memory['training_peak_rss_mb']} MB"
                    if "training_peak_rss_mb" in b.memory else ""))
    return "\n".join(lines)
