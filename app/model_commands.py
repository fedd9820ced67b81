"""``finescale train`` and ``finescale generate``: argument parsing only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finescale.app.provenance import portable_command
from finescale.data.errors import FinescaleError
from finescale.data.seasons import SEASONS
from finescale.data.splits import SCORED, SplitConfig
from finescale.model.config import STAGES, own_noise_rho

PAPER_STEPS = 200  # the paper's ancestral sampling steps


def default_checkpoint_dir() -> Path:
    from finescale.model.registry import user_checkpoint_dir

    return user_checkpoint_dir()


def cmd_train(a: argparse.Namespace) -> None:
    from finescale.data.layout import open_dataset
    from finescale.model.checkpoints import checkpoint_name
    from finescale.model.config import get_preset, override
    from finescale.model.device import resolve_device
    from finescale.model.training import TrainSpec, train_downscaler, train_encoder

    preset = get_preset(a.preset)
    for name in ("epochs", "steps", "batch"):
        if getattr(a, name) is not None and getattr(a, name) < 1:
            raise FinescaleError(f"--{name} must be >= 1, got {getattr(a, name)}")
    if a.max_minutes < 0:
        raise FinescaleError(f"--max-minutes must be >= 0, got {a.max_minutes}")
    if a.epochs is not None or a.steps is not None or a.batch is not None:
        preset = override(preset,
                          encoder=override(preset.encoder, epochs=a.epochs,
                                           steps_per_epoch=a.steps, batch=a.batch),
                          downscaler=override(preset.downscaler, epochs=a.epochs,
                                              steps_per_epoch=a.steps, batch=a.batch))
    device = resolve_device(a.device)
    main = True
    if a.distributed:
        from finescale.model.distributed import init, local_device

        device = local_device(device)
        main = init(device).main
    ds = open_dataset(a.data)
    out = (a.out or default_checkpoint_dir()).expanduser()
    enc = a.encoder or out / f"{checkpoint_name(a.region, a.season, 'encoder')}.safetensors"
    spec = TrainSpec(kind=a.stage, region=a.region, season=a.season, preset=preset,
                     out_dir=out, device=device, seed=a.seed, encoder_path=enc, half=a.half,
                     split=SplitConfig(heldout_year=a.heldout_year),
                     command=portable_command(sys.argv[1:]),
                     max_seconds=60.0 * a.max_minutes)
    if a.stage == "distilled":
        path = _distill(ds, spec, a)
    elif a.stage == "encoder":
        path = train_encoder(ds, spec)
    else:
        path = train_downscaler(ds, spec)
    if main:
        print(f"wrote {path}")


def _distill(ds, spec, a: argparse.Namespace) -> Path:
    from finescale.model.config import override
    from finescale.model.distill import DistillConfig, distill
    from finescale.model.registry import resolve_checkpoint

    teacher = a.teacher or resolve_checkpoint(f"{a.region}-{a.season}-diffusion")
    dcfg = override(DistillConfig(), epochs=a.epochs, steps_per_epoch=a.steps, batch=a.batch,
                    weighting=a.weighting)
    return distill(ds, spec, teacher, dcfg)


def _add_sampler_args(p: argparse.ArgumentParser) -> None:
    from finescale.model.config import PRECISIONS, SOLVERS, SamplerConfig

    p.add_argument("--sampler", choices=("fast", "paper"), default="fast")
    p.add_argument("--solver", choices=SOLVERS, default=SamplerConfig.solver,
                   help="fast sampler's ODE solver: heun (2 network calls a step) or dpm2m "
                        "(DPM-Solver++(2M), 1 call a step)")
    p.add_argument("--steps", type=int, default=None, help="default 12 (fast) / 200 (paper)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="network arithmetic (bf16: faster on CPUs with AVX512-BF16/AMX)")
    p.add_argument("--windows", action=argparse.BooleanOptionalAction, default=None,
                   help="fast sampler: run the denoiser on windows of its training patch, as "
                        "trained (the default); --no-windows: on the whole map, faster and "
                        "less accurate")
    p.add_argument("--window-overlap", type=float, default=SamplerConfig.window_overlap,
                   help="overlap of neighbouring windows' cores as a fraction of a core "
                        "(default 0: they abut; 0.25 costs ~1.7x)")
    p.add_argument("--noise-rho", type=float, default=None,
                   help="day-to-day correlation of each member's initial noise in a "
                        "roll-out, 0 to <1 (default: each model's own, chosen on validation "
                        f"windows: {own_noise_rho()})")
    p.add_argument("--coarse-consistent", action="store_true",
                   help="scale each generated day's fine points so that every coarse cell's "
                        "mean equals the coarse input (off by default: docs/reconstruct.md)")
    p.add_argument("--calls", type=int, default=SamplerConfig.calls,
                   help="network calls per map of a distilled model (1 or 2; default "
                        f"{SamplerConfig.calls})")


def _sampler_config(a: argparse.Namespace):
    """The SamplerConfig of ``--sampler/--steps/--precision`` (steps default per sampler)."""
    from finescale.model.config import SamplerConfig

    steps = a.steps if a.steps is not None else (
        SamplerConfig.steps if a.sampler == "fast" else PAPER_STEPS)
    windows = SamplerConfig.windows if a.windows is None else a.windows
    return SamplerConfig(protocol=a.sampler, steps=steps, solver=a.solver, precision=a.precision,
                         windows=windows, window_overlap=a.window_overlap, calls=a.calls,
                         noise_rho=a.noise_rho, coarse_consistent=a.coarse_consistent)


def cmd_generate(a: argparse.Namespace) -> None:
    from finescale.data.layout import open_dataset
    from finescale.model.device import fast_precision, resolve_device
    from finescale.model.generation import generate_to_file
    from finescale.model.registry import resolve_checkpoint

    ckpts = [c if c.startswith("interp:") else resolve_checkpoint(c) for c in a.checkpoint]
    if a.precision is None:
        a.precision = fast_precision(resolve_device(a.device))
    out = generate_to_file(open_dataset(a.data), ckpts, a.start, a.end, a.out,
                           members=a.members, sampler=_sampler_config(a),
                           seed=a.seed, device=resolve_device(a.device),
                           strict=not a.no_strict, spinup=a.spinup, region=a.region)
    print(f"wrote {out}")


def cmd_evaluate_record(a: argparse.Namespace) -> None:
    from finescale.app.record_report import write_record_report
    from finescale.data.layout import open_dataset
    from finescale.data.record import damaged_slabs, open_record
    from finescale.data.record_evidence import year_rows
    from finescale.model.reconstruct import record_test_days

    damaged = damaged_slabs(a.record, deep=True)
    if damaged:
        raise FinescaleError(f"{a.record}: {len(damaged)} finished slab(s) have missing or "
                             "altered chunks; run the same reconstruct command to make them "
                             "again, then evaluate")
    rec = open_record(a.record)
    try:  # the dataset gives the models' split; without it, no test-day scores, nothing else lost
        test_days, how = record_test_days(rec, open_dataset(a.data))
    except FinescaleError as err:
        test_days, how = None, f"no test-day scores: {err}"
    print(f"evaluate: {how}", file=sys.stderr)
    rows = year_rows(rec, progress=lambda msg: print(f"evaluate: {msg}", file=sys.stderr),
                     test_days=test_days)
    out = write_record_report(rows, a.out, str(a.record))
    flagged = [str(r["year"]) for r in rows if r.get("flag")]
    print(f"wrote {out / 'record.json'} ({len(rows)} rows; flagged: "
          f"{', '.join(flagged) or 'none'})")


def cmd_evaluate(a: argparse.Namespace) -> None:
    if a.record is not None:
        return cmd_evaluate_record(a)
    if a.rebuild is not None:
        from finescale.app.rebuild import write_rebuilt

        print(f"wrote {write_rebuilt(a.rebuild, a.out)} (every interval and verdict from "
              f"{a.rebuild}'s per-day statistics)")
        return None
    from finescale.app.report import write_report
    from finescale.data.evaluation import CurveConfig
    from finescale.data.layout import open_dataset
    from finescale.data.transforms import analysis_label
    from finescale.model.device import resolve_device
    from finescale.model.evaluation import EvalConfig, evaluate
    from finescale.model.kinds import KINDS, noise_rho
    from finescale.model.registry import SHIPPED_DIR

    sampler = _sampler_config(a)
    cfg = EvalConfig(members=a.members, days=a.days, split=a.split, rollout=a.rollout,
                     interp=tuple(a.interp.split(",")) if a.interp else (),
                     sampler=sampler,
                     curves=CurveConfig(seed=a.seed), seed=a.seed, boot=a.boot,
                     block=a.block)
    if a.members == 1:
        print("finescale: with --members 1 the infinite-member R² and the fair CRPS of the "
              "generative models are undefined (they need 2 members); their claims are "
              "judged on the 1-member scores", file=sys.stderr)
    ds = open_dataset(a.data)
    ckpts = a.checkpoints or [SHIPPED_DIR]
    device = resolve_device(a.device)
    results = evaluate(ds, ckpts, cfg, device=device, workers=a.workers, cache=a.cache)
    settings = {"members": a.members, "days": a.days, "split": a.split, "rollout": a.rollout,
                "sampler": a.sampler, "steps": sampler.steps, "solver": sampler.solver,
                "precision": sampler.precision,
                "windows": sampler.windows, "window_overlap": sampler.window_overlap,
                "calls": sampler.calls, "noise_rho": sampler.noise_rho,
                "coarse_consistent": sampler.coarse_consistent,
                "noise_rho_by_kind": {k.name: noise_rho(sampler, k.name)
                                      for k in KINDS.values() if k.uses_sampler},
                "seed": a.seed,
                "boot": a.boot, "block": a.block, "device": str(device),
                "command": portable_command(sys.argv[1:])}
    out = write_report(results, a.out, variable=ds.variable, settings=settings,
                       overwrite=a.overwrite, dataset=ds.manifest.get("generator"),
                       scale=analysis_label(ds.transform, ds.variable, ds.units),
                       log=ds.transform == "log")
    print(f"wrote {out / 'report.md'} ({len(results)} model × season results)")


def cmd_bench(a: argparse.Namespace) -> None:
    import dataclasses
    import json

    from finescale.data.layout import open_dataset
    from finescale.model.bench import BenchConfig, run_bench, table
    from finescale.model.device import resolve_device
    from finescale.model.registry import SHIPPED_DIR

    cfg = BenchConfig.quick() if a.quick else BenchConfig()
    cfg = dataclasses.replace(cfg, season=a.season, regions=tuple(a.regions.split(",")),
                              train_presets=tuple(a.train_presets.split(",")),
                              record_only=a.record_only)
    device = resolve_device(a.device)
    b = run_bench(open_dataset(a.data), a.checkpoints or [SHIPPED_DIR], cfg, device,
                  progress=lambda msg: print(f"bench: {msg}", file=sys.stderr))
    text = json.dumps(dataclasses.asdict(b), indent=1, default=str)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_name(f".{a.out.name}.tmp")
    tmp.write_text(text)
    tmp.replace(a.out)
    print(table(b))
    print(f"wrote {a.out}")


def register(sub: argparse._SubParsersAction) -> None:
    """The model commands: train, generate, evaluate, bench."""
    for add in (_register_train, _register_generate, _register_evaluate, _register_bench):
        add(sub)


def _register_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the encoder, the diffusion downscaler, a baseline, "
                       "or distil a diffusion model (distilled)")
    p.add_argument("stage", choices=STAGES)
    p.add_argument("--region", required=True)
    p.add_argument("--season", required=True, choices=SEASONS)
    p.add_argument("--preset", default="quick", help="quick (CPU minutes) or paper (GPU)")
    p.add_argument("--data", type=Path, default=None, help="dataset directory")
    p.add_argument("--out", type=Path, default=None,
                   help=f"checkpoint directory (default {default_checkpoint_dir()})")
    p.add_argument("--encoder", type=Path, default=None,
                   help="stage-1 checkpoint (default OUT/REGION-SEASON-encoder.safetensors)")
    p.add_argument("--teacher", type=Path, default=None,
                   help="distilled: the diffusion checkpoint to distil (default: yours, "
                        "else the shipped REGION-SEASON-diffusion)")
    p.add_argument("--weighting", choices=("uniform", "gap"), default=None,
                   help="distilled: weight of each pair of noise levels (default "
                        "uniform; gap: 1 / their distance)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="steps per epoch")
    p.add_argument("--batch", type=int, default=None, help="batch size (samples per step)")
    p.add_argument("--max-minutes", type=float, default=0.0,
                   help="stop after the epoch that crosses this wall-clock budget; the best "
                        "epoch so far is saved (default 0 = no budget)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heldout-year", type=int, default=0, metavar="YEAR",
                   help="test on this whole season-year instead of random days: it and its "
                   "pre-season buffer are never trained or validated on (DJF of YEAR is "
                   "December YEAR to February YEAR+1; default: the paper's random days)")
    p.add_argument("--half", action="store_true", help="store weights as float16")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel (DDP) under torchrun: torchrun --nproc_per_node N "
                   "-m finescale.app.cli train … --distributed")
    p.set_defaults(func=cmd_train)


def _register_generate(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("generate", help="generate a downscaled ensemble as NetCDF")
    g.add_argument("--checkpoint", nargs="+", required=True,
                   help="downscaler checkpoint(s), one per season: files or names such as "
                   "area0-JJA-diffusion (yours first, then the shipped ones), area0-JJA "
                   "(the pair's default: its distilled student where one fits its diffusion "
                   "model), or interp:bilinear etc.")
    g.add_argument("--start", required=True)
    g.add_argument("--end", required=True)
    g.add_argument("--members", type=int, default=1)
    _add_sampler_args(g)
    g.set_defaults(precision=None)  # the device's fast arithmetic
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--region", default=None)
    g.add_argument("--no-strict", action="store_true",
                   help="feed the truth back into the history where it exists")
    g.add_argument("--spinup", type=int, default=7,
                   help="days generated and discarded when starting without fine history")
    g.add_argument("--data", type=Path, default=None)
    g.add_argument("--device", default="auto")
    g.add_argument("--out", type=Path, required=True, help="output NetCDF file")
    g.set_defaults(func=cmd_generate)


def _register_evaluate(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="score models on the held-out test days; write a report")
    e.add_argument("--checkpoints", nargs="+", type=Path, default=None,
                   help="checkpoint files or directories (searched recursively; default: "
                   "the shipped weights)")
    e.add_argument("--members", type=int, default=4, help="ensemble size (default 4)")
    e.add_argument("--days", type=int, default=8,
                   help="first N test days per season, in date order (0 = all; default 8)")
    e.add_argument("--split", choices=SCORED, default="test",
                   help="score the held-out test days (default) or the validation days, "
                   "to choose settings without looking at the test days")
    e.add_argument("--rollout", type=int, default=10,
                   help="days of the autoregressive roll-out for ACF / lead curves (default 10)")
    e.add_argument("--interp", default="bilinear",
                   help="interpolation baselines, comma-separated (default bilinear)")
    _add_sampler_args(e)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--boot", type=int, default=2000,
                   help="bootstrap resamples of the days for 95%% intervals (0 = none)")
    e.add_argument("--block", type=int, default=0,
                   help="days per moving block of the bootstrap (default 0: the cube root of "
                   "the number of scored days; 1: single days)")
    e.add_argument("--workers", type=int, default=1,
                   help="score area × season pairs in this many processes (default 1)")
    e.add_argument("--cache", type=Path, default=None,
                   help="keep each model's generated fields here; a rerun with the same "
                   "weights and settings reuses them (resume a stopped evaluation)")
    e.add_argument("--data", type=Path, default=None)
    e.add_argument("--device", default="auto")
    e.add_argument("--out", type=Path, required=True, help="report directory")
    e.add_argument("--overwrite", action="store_true", help="replace an existing report")
    e.add_argument("--rebuild", type=Path, default=None, metavar="REPORT",
                   help="instead: rebuild every interval and verdict of REPORT from its "
                   "shipped per-day statistics (daily.nc) into OUT/metrics.json")
    e.add_argument("--record", type=Path, default=None,
                   help="instead: per-year evidence of a reconstruction store (coarse "
                   "consistency, stationarity, scores where the truth exists, flags) as "
                   "OUT/record.json, report.md and record.png")
    e.set_defaults(func=cmd_evaluate)


def _register_bench(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("bench", help="time the samplers (paper protocol vs fast), training "
                       "throughput, FLOP/s and memory; write JSON")
    b.add_argument("--quick", action="store_true", help="a few minutes on 2 CPU cores")
    b.add_argument("--record-only", action="store_true",
                   help="only the reconstruction rows: the long record's speed")
    b.add_argument("--season", default="JJA", choices=SEASONS)
    b.add_argument("--regions", default="area0,area1")
    b.add_argument("--train-presets", default="quick,paper",
                   help="model sizes whose training throughput is measured")
    b.add_argument("--checkpoints", nargs="+", type=Path, default=None,
                   help="checkpoint directories (default: the shipped weights)")
    b.add_argument("--data", type=Path, default=None)
    b.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    b.add_argument("--out", type=Path, default=Path("bench.json"), help="JSON output")
    b.set_defaults(func=cmd_bench)
