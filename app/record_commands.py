"""``finescale reconstruct``: argument parsing only."""

from __future__ import annotations

import argparse
from pathlib import Path

from finescale.app.model_commands import _add_sampler_args, _sampler_config


def cmd_reconstruct(a: argparse.Namespace) -> None:
    from finescale.data.layout import open_dataset
    from finescale.data.record import RecordLayout, read_settings
    from finescale.data.seasons import season_of
    from finescale.model import distributed
    from finescale.model.device import compile_pays, fast_precision, resolve_device
    from finescale.model.reconstruct import RecordConfig, reconstruct
    from finescale.model.registry import SHIPPED_DIR, record_checkpoints

    device = resolve_device(a.device)
    if a.distributed:
        device = distributed.local_device(device)
        distributed.init(device)
    layout = RecordLayout(start=a.start, end=a.end, members=a.members,
                          segment_days=a.segment_days,
                          member_block=default_member_block(a, distributed.current().world),
                          tile=a.tile)
    if a.precision is None:  # an existing store's own, else the device's fast arithmetic
        a.precision = read_settings(a.out)["sampler"]["precision"] if a.out.exists() \
            else fast_precision(device)
    if a.keepbits is None:  # an existing store's own, else lossless
        a.keepbits = read_settings(a.out).get("keepbits", 0) if a.out.exists() else 0
    cfg = RecordConfig(layout=layout, spinup=a.spinup, seed=a.seed, sampler=_sampler_config(a),
                       chain=a.chain, keepbits=a.keepbits)
    ds = open_dataset(a.data)
    seasons = sorted(set(season_of(layout.days)))
    ckpts, kind = record_checkpoints(a.checkpoints or [SHIPPED_DIR], a.region, a.kind, seasons)
    compiled = a.compile == "on" or (a.compile == "auto" and compile_pays(device, a.precision))
    out = reconstruct(ds, ckpts, cfg, a.out, device=device, region=a.region,
                      compile_networks=compiled)
    if distributed.current().main:
        print(f"wrote {out} ({kind} models: {', '.join(p.stem for p in ckpts)}"
              + ("; --kind diffusion for their teachers)" if kind == "distilled" else ")"))


def default_member_block(a: argparse.Namespace, world: int) -> int:
    """``--member-block`` as given; unset (0): an existing store's own, else, chained on
    several processes, as many members per block as give every process a block (a chained
    record is parallel over member blocks only), else all members in one block."""
    if a.member_block:
        return a.member_block
    if a.out.exists():
        from finescale.data.record import read_layout

        return read_layout(a.out).member_block
    if a.chain and world > 1:
        return -(-a.members // world)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from finescale.model.registry import RECORD_KINDS

    r = sub.add_parser("reconstruct", help="downscale a long period (e.g. 2000-2024) into a "
                       "zarr store, resumably, on one or many processes (torchrun)")
    r.add_argument("--region", required=True)
    # --start-date/--end-date: under torchrun, whose parser reads --start as an
    # abbreviation of its own --start-method
    r.add_argument("--start", "--start-date", dest="start", required=True,
                   help="first day, e.g. 2000-01-01 (under torchrun: --start-date)")
    r.add_argument("--end", "--end-date", dest="end", required=True,
                   help="last day, e.g. 2024-12-31")
    r.add_argument("--members", type=int, default=1)
    r.add_argument("--out", type=Path, required=True, help="zarr store (created or resumed)")
    r.add_argument("--checkpoints", nargs="+", default=None,
                   help="checkpoint files, names or directories, one per season the period "
                   "touches (default: the shipped weights)")
    r.add_argument("--kind", default="auto", choices=RECORD_KINDS,
                   help="model kind; auto (default): the distilled students of the "
                   "seasons' diffusion models where every season has one (one network call "
                   "per map), else the diffusion models")
    _add_sampler_args(r)
    r.set_defaults(precision=None)  # the device's fast arithmetic, or the store's own
    next(x for x in r._actions if x.dest == "precision").help = (
        "network arithmetic (default: bf16 where the device computes it natively — CUDA, "
        "AVX512-BF16/AMX CPUs — else fp32; an existing store keeps its own)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--segment-days", type=int, default=60,
                   help="days per independent segment and per time chunk (default 60)")
    r.add_argument("--spinup", type=int, default=7,
                   help="days generated and discarded before the first segment (every "
                   "segment with --no-chain; default 7)")
    r.add_argument("--chain", action=argparse.BooleanOptionalAction, default=True,
                   help="each member block continues its history across segments: seamless "
                   "joins, parallel over member blocks (the default); --no-chain: "
                   "independent segments, each with a spin-up, parallel over segments too, "
                   "a measurable seam at each join (docs/reconstruct.md)")
    r.add_argument("--member-block", type=int, default=0,
                   help="members generated together in one slab (default: all; chained "
                   "under torchrun, members / processes, so that every rank has a block; "
                   "an existing store keeps its own)")
    r.add_argument("--tile", type=int, default=128,
                   help="spatial chunk side in grid points (default 128)")
    r.add_argument("--keepbits", type=int, default=None, metavar="K",
                   help="keep K mantissa bits of each generated value on disk (relative error "
                   "≤ 2^-(K+1)), e.g. 7: a third of the size at ≤ 0.4 %% error "
                   "(docs/reconstruct.md); default: lossless float32, or an existing "
                   "store's own")
    r.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="run the networks compiled (torch.compile): auto (default) where it "
                   "pays — a CPU in fp32 (1.9x measured; bf16 gains nothing) with a C++ "
                   "compiler on PATH; the fields are the same to float32 rounding")
    r.add_argument("--data", type=Path, default=None)
    r.add_argument("--device", default="auto")
    r.add_argument("--distributed", action="store_true",
                   help="share the slabs among torchrun's processes: torchrun "
                   "--nproc-per-node N -m finescale.app.cli reconstruct … --distributed")
    r.set_defaults(func=cmd_reconstruct)
