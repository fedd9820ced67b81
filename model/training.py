"""Training of the transfer encoder (stage 1), the diffusion downscaler and the baselines.

One loop (:class:`Trainer`) serves every stage: Adam, reduce-on-plateau, early stopping on
the validation loss, gradient clipping, optional EMA weights, a tqdm bar or a callback,
cancellation through a ``threading.Event``, and resume from the last epoch's state after an
interruption. Checkpoints go through :mod:`model.checkpoints` (atomic, safetensors).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir
from finescale.data.splits import SplitConfig
from finescale.model.checkpoints import (
    checkpoint_name,
    load_into,
    manifest_path,
    read_checkpoint,
    read_manifest,
    save_checkpoint,
)
from finescale.model.config import (
    DownscalerConfig,
    EncoderConfig,
    Preset,
    from_dict,
    to_dict,
)
from finescale.model.datasets import (
    SeasonData,
    encoder_days,
    fingerprint,
    fingerprints,
    random_window,
    season_data,
)
from finescale.model.distributed import SINGLE, Replica, Shard, agree, barrier, current
from finescale.model.kinds import kind as get_kind
from finescale.model.networks import TransferEncoder

VAL_BATCHES = 4


class Cancelled(FinescaleError):
    """Training was cancelled; the last finished epoch is saved for resume."""


Callback = Callable[[dict], None] | None


# --- models --------------------------------------------------------------------------------

def build_encoder(cfg: EncoderConfig) -> TransferEncoder:
    return TransferEncoder(history=cfg.history, channels=cfg.channels, attention=cfg.attention)


# --- the loop ------------------------------------------------------------------------------

@dataclass
class LoopConfig:
    epochs: int
    steps_per_epoch: int
    lr: float
    patience: int
    grad_clip: float = 1.0
    ema: float = 0.0


@dataclass
class LoopState:
    epoch: int = 0
    best: float = float("inf")
    bad_epochs: int = 0
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the earlier runs a resumed training continues


class Trainer:
    """Generic epoch loop with EMA, early stopping and resumable state."""

    def __init__(self, model: nn.Module, cfg: LoopConfig, device: torch.device,
                 resume_path: Path, progress: bool = True, callback: Callback = None,
                 cancel: threading.Event | None = None, desc: str = "train",
                 max_seconds: float = 0.0):
        self.model, self.cfg, self.device = model.to(device), cfg, device
        self.max_seconds = max_seconds  # wall-clock budget, checked after each epoch; 0 = none
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(self.params, lr=cfg.lr)
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(self.opt, factor=0.5,
                                                                patience=max(1, cfg.patience // 3))
        self.ema = copy.deepcopy(model).eval() if cfg.ema > 0 else None
        self.resume_path, self.progress, self.callback = resume_path, progress, callback
        self.cancel, self.desc = cancel or threading.Event(), desc
        self.state = LoopState()
        self._started = time.perf_counter()
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.shard = current()
        self.progress = progress and self.shard.main
        self.callback = callback if self.shard.main else None

    @property
    def eval_model(self) -> nn.Module:
        return self.ema if self.ema is not None else self.model

    def _ema_update(self) -> None:
        if self.ema is None:
            return
        with torch.no_grad():
            for pe, pm in zip(self.ema.parameters(), self.model.parameters(), strict=True):
                pe.lerp_(pm, 1 - self.cfg.ema)

    # resume files: tensors + JSON state
    def save_resume(self) -> None:
        """Rank 0 writes; every rank waits so that none reads a half-written state."""
        if self.shard.main:
            self._write_resume()
        barrier()

    def _write_resume(self) -> None:
        t = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if self.ema is not None:
            t |= {f"ema.{k}": v for k, v in self.ema.state_dict().items()}
        if self.best_weights is not None:
            t |= {f"best.{k}": v for k, v in self.best_weights.items()}
        for i, p in enumerate(self.params):
            st = self.opt.state.get(p, {})
            for key in ("exp_avg", "exp_avg_sq"):
                if key in st:
                    t[f"opt.{i}.{key}"] = st[key]
            if "step" in st:
                t[f"opt.{i}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
        meta = {"kind": "resume", "epoch": self.state.epoch, "best": self.state.best,
                "bad_epochs": self.state.bad_epochs, "history": self.state.history,
                "lr": self.opt.param_groups[0]["lr"], "loop": self.cfg.__dict__,
                "seconds": self.state.seconds + time.perf_counter() - self._started}
        save_checkpoint(self.resume_path, t, meta)

    def try_resume(self) -> bool:
        if not self.resume_path.exists():
            return False
        m = read_manifest(self.resume_path)
        if m.get("loop") != self.cfg.__dict__ and m.get("loop", {}).get("lr") != self.cfg.lr:
            return False
        tensors, m = read_checkpoint(self.resume_path)
        load_into(self.model, tensors, self.resume_path, "model.")
        if self.ema is not None:
            load_into(self.ema, tensors, self.resume_path, "ema.")
        if any(k.startswith("best.") for k in tensors):
            self.best_weights = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        for i, p in enumerate(self.params):
            if f"opt.{i}.exp_avg" in tensors:
                self.opt.state[p] = {
                    "exp_avg": tensors[f"opt.{i}.exp_avg"].to(self.device),
                    "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(self.device),
                    "step": torch.tensor(float(tensors[f"opt.{i}.step"][0]))}
        for g in self.opt.param_groups:
            g["lr"] = m["lr"]
        self.state = LoopState(epoch=m["epoch"], best=m["best"], bad_epochs=m["bad_epochs"],
                               history=m["history"], seconds=m.get("seconds", 0.0))
        return True

    def run(self, step: Callable[[nn.Module, int], torch.Tensor],
            validate: Callable[[nn.Module], float]) -> LoopState:
        cfg = self.cfg
        total = cfg.epochs * cfg.steps_per_epoch
        bar = tqdm(total=total, initial=self.state.epoch * cfg.steps_per_epoch, desc=self.desc,
                   disable=not self.progress, file=sys.stderr, unit="step")
        t0 = time.perf_counter()
        done0 = self.state.epoch * cfg.steps_per_epoch
        replica = Replica(self.model, self.device) if self.shard.world > 1 else self.model
        while self.state.epoch < cfg.epochs and self.state.bad_epochs < cfg.patience:
            self.model.train()
            losses = []
            for k in range(cfg.steps_per_epoch):
                if self.cancel.is_set():
                    bar.close()
                    raise Cancelled(f"training cancelled at epoch {self.state.epoch + 1}; "
                                    f"resume state in {self.resume_path}")
                with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16,
                                    enabled=self.device.type == "cuda"):  # mixed precision
                    loss = step(replica, self.state.epoch * cfg.steps_per_epoch + k)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    nn.utils.clip_grad_norm_(self.params, cfg.grad_clip)
                self.opt.step()
                self._ema_update()
                losses.append(loss.item())
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
                if self.callback:
                    done = self.state.epoch * cfg.steps_per_epoch + k + 1
                    rate = (done - done0) / max(time.perf_counter() - t0, 1e-9)
                    self.callback({"event": "step", "step": done, "total": total,
                                   "loss": losses[-1], "eta_s": (total - done) / max(rate, 1e-9)})
            self.eval_model.eval()
            with torch.no_grad():
                val = float(validate(self.eval_model))
            self.sched.step(val)
            self.state.epoch += 1
            rec = {"epoch": self.state.epoch, "train_loss": float(np.mean(losses)),
                   "val_loss": val, "lr": self.opt.param_groups[0]["lr"]}
            self.state.history.append(rec)
            if val < self.state.best:
                self.state.best, self.state.bad_epochs = val, 0
                self.best_weights = {k: v.detach().clone()
                                     for k, v in self.eval_model.state_dict().items()}
            else:
                self.state.bad_epochs += 1
            if self.callback:
                self.callback({"event": "epoch", **rec})
            self.save_resume()
            if agree(bool(self.max_seconds) and time.perf_counter() - t0 >= self.max_seconds):
                self.state.history[-1]["stopped"] = f"time budget of {self.max_seconds:g} s"
                break
        bar.close()
        if self.best_weights is not None:
            self.eval_model.load_state_dict(self.best_weights)
        return self.state


# --- stages --------------------------------------------------------------------------------

@dataclass
class TrainSpec:
    """What to train, where, and how (shared by CLI and dashboard)."""

    kind: str
    region: str
    season: str
    preset: Preset
    out_dir: Path
    device: torch.device
    seed: int = 0
    encoder_path: Path | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    half: bool = False
    command: str = ""
    max_seconds: float = 0.0  # stop after the epoch that crosses this wall-clock budget


def _rng(seed: int, *salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, *salt])


def _finish(spec: TrainSpec, tensors: dict, sd: SeasonData, fp: str, state: LoopState,
            seconds: float, extra: dict, variable: str) -> Path:
    path = spec.out_dir / f"{checkpoint_name(spec.region, spec.season, spec.kind)}.safetensors"
    manifest = {
        "kind": spec.kind, "region": spec.region, "season": spec.season, "variable": variable,
        "preset": spec.preset.name, "encoder_config": to_dict(spec.preset.encoder),
        "downscaler_config": to_dict(spec.preset.downscaler),
        "transform": sd.transform.to_dict(), "split": sd.split.to_dict()["config"],
        "year_span": list(sd.year_span) if sd.year_span else None,
        "data_fingerprint": fp, "history": state.history,
        # a resumed training's seconds include its earlier runs'
        "training": {"command": spec.command, "seconds": round(state.seconds + seconds, 1),
                     "device": str(spec.device), "epochs": state.epoch, "seed": spec.seed,
                     "finished": pd.Timestamp.now("UTC").isoformat()},
        **extra,
    }
    if current().main:
        save_checkpoint(path, tensors, manifest, half=spec.half)
    barrier()
    return path


def _resume_path(spec: TrainSpec) -> Path:
    return spec.out_dir / f".{checkpoint_name(spec.region, spec.season, spec.kind)}.resume" \
        ".safetensors"


def _cleanup(resume: Path) -> None:
    if not current().main:
        return
    resume.unlink(missing_ok=True)
    manifest_path(resume).unlink(missing_ok=True)


def train_encoder(ds: DatasetDir, spec: TrainSpec, progress: bool = True, callback: Callback = None,
                  cancel: threading.Event | None = None) -> Path:
    """Stage 1: the temporal U-Net on coarse patches of the long coarse series."""
    cfg = spec.preset.encoder
    torch.manual_seed(spec.seed)
    region = ds.region(spec.region)
    sd = season_data(region, spec.season, spec.split, in_memory=True)  # random patches
    days = encoder_days(sd, cfg.history, spec.split.buffer_days)
    rng = _rng(spec.seed, 1)
    val_mask = rng.random(days.size) < 0.2
    train_idx = sd.coarse_days.get_indexer(days[~val_mask])
    val_idx = sd.coarse_days.get_indexer(days[val_mask])
    h, w = sd.coarse.shape[1:]
    p = min(cfg.patch, h, w)
    corners = [(i, j) for i in range(0, h - p + 1, cfg.stride) for j in range(0, w - p + 1,
                                                                            cfg.stride)]
    coarse = torch.from_numpy(sd.coarse[:])

    def batch(idx: np.ndarray, r: np.random.Generator, shard: Shard = SINGLE
              ) -> tuple[torch.Tensor, torch.Tensor]:
        t = r.choice(idx, cfg.batch)
        c = [corners[k] for k in r.integers(0, len(corners), cfg.batch)]
        keep = shard.take(cfg.batch)
        t, c = t[keep], [c[k] for k in keep]
        hist = torch.stack([coarse[ti - cfg.history: ti, i: i + p, j: j + p]
                            for ti, (i, j) in zip(t, c, strict=True)])
        tgt = torch.stack([coarse[ti, i: i + p, j: j + p][None]
                           for ti, (i, j) in zip(t, c, strict=True)])
        return hist.to(spec.device), tgt.to(spec.device)

    steps = cfg.steps_per_epoch or max(1, len(train_idx) * len(corners) // cfg.batch)
    model = build_encoder(cfg)
    loop = LoopConfig(epochs=cfg.epochs, steps_per_epoch=steps, lr=cfg.lr, patience=cfg.patience)
    trainer = Trainer(model, loop, spec.device, _resume_path(spec), progress, callback, cancel,
                      desc=f"encoder {spec.region} {spec.season}", max_seconds=spec.max_seconds)
    trainer.try_resume()
    val_batches = [batch(val_idx, _rng(spec.seed, 2, k)) for k in range(VAL_BATCHES)]

    def step(m: nn.Module, k: int) -> torch.Tensor:
        x, y = batch(train_idx, _rng(spec.seed, 3, k), current())
        return (m(x) - y).abs().mean()  # L1, as the paper

    def validate(m: nn.Module) -> float:
        return float(np.mean([float((m(x) - y).abs().mean()) for x, y in val_batches]))

    t0 = time.perf_counter()
    state = trainer.run(step, validate)
    path = _finish(spec, dict(trainer.eval_model.state_dict()), sd,
                   fingerprint(ds.manifest, spec.region), state, time.perf_counter() - t0, {},
                   ds.variable)
    _cleanup(_resume_path(spec))
    return path


def load_encoder(path: Path, *, region: str, season: str,
                 fp: str | tuple[str, ...] | None = None
                 ) -> tuple[TransferEncoder, dict]:
    tensors, m = read_checkpoint(path, kind="encoder", region=region, season=season,
                                 fingerprint=fp)
    enc = build_encoder(from_dict(EncoderConfig, m["encoder_config"]))
    load_into(enc, tensors, path)
    return freeze(enc), m


def freeze(enc: nn.Module) -> nn.Module:
    enc.eval()
    for p in enc.parameters():
        p.requires_grad_(False)
    return enc


def downscaler_batch(sd: SeasonData, days: pd.DatetimeIndex, cfg: DownscalerConfig,
                     history: int, encoder: TransferEncoder | None, n: int,
                     r: np.random.Generator, device: torch.device, shard: Shard = SINGLE
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(target, cond) for ``n`` random (day, patch) pairs; target is a residual if asked.

    The ``n`` draws are the same on every rank; each rank builds only its ``shard``.
    """
    tg, cd, hs = [], [], []
    draws = []
    for _ in range(n):
        day = days[r.integers(0, days.size)]
        draws.append((day, random_window(sd.shape, cfg.patch, r)))
    for k in shard.take(n):
        day, win = draws[k]
        fine = sd.fine[sd.fine_days.get_loc(day), win[0], win[1]]
        tg.append(fine - sd.base(day, win) if cfg.residual else fine)
        cd.append(sd.cond(day, win))
        if encoder is not None:
            hs.append(sd.fine_history(day, history, win))
    target = torch.from_numpy(np.stack(tg))[:, None].to(device)
    cond = torch.from_numpy(np.stack(cd)).to(device)
    if encoder is not None:
        with torch.no_grad():
            feats = encoder.features(torch.from_numpy(np.stack(hs)).to(device),
                                     size=tuple(target.shape[-2:]))
        cond = torch.cat([feats, cond], dim=1)
    return target, cond


def validation_batches(sd: SeasonData, cfg: DownscalerConfig, history: int,
                       encoder: TransferEncoder | None, n: int, seed: int,
                       device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The fixed (target, cond) batches of ``n`` validation patches a stage-2 model (or its
    distilled student) is validated on: the same patches for the same seed."""
    return [downscaler_batch(sd, sd.split.val, cfg, history, encoder, n, _rng(seed, 5, k),
                             device) for k in range(VAL_BATCHES)]


def train_downscaler(ds: DatasetDir, spec: TrainSpec, progress: bool = True,
                     callback: Callback = None, cancel: threading.Event | None = None) -> Path:
    """Stage 2 (diffusion) or a baseline, on fine patches of the training days."""
    torch.manual_seed(spec.seed)
    kind = get_kind(spec.kind)
    region = ds.region(spec.region)
    sd = season_data(region, spec.season, spec.split, in_memory=True)  # random patches
    fp = fingerprint(ds.manifest, spec.region)
    enc_cfg = spec.preset.encoder
    encoder, enc_manifest = None, None
    if kind.uses_features:
        if spec.encoder_path is None:
            raise FinescaleError(f"a {kind.name} model needs a trained encoder: pass --encoder "
                                 "PATH (from `finescale train encoder`)")
        encoder, enc_manifest = load_encoder(spec.encoder_path, region=spec.region,
                                             season=spec.season,
                                             fp=fingerprints(ds.manifest, spec.region))
        encoder = encoder.to(spec.device)
        enc_cfg = from_dict(EncoderConfig, enc_manifest["encoder_config"])
    if spec.device.type == "cuda":
        sd.fine.cache()  # a GPU outruns the on-the-fly log transform of the history patches
    cfg = spec.preset.downscaler
    # σ_data from the training targets (EDM preconditioning needs the data scale)
    r0 = _rng(spec.seed, 4)
    probe, _ = downscaler_batch(sd, sd.split.train, cfg, enc_cfg.history, None, 32, r0,
                                torch.device("cpu"))
    cfg = dataclasses.replace(cfg, sigma_data=round(float(probe.std()), 4))
    cfg = dataclasses.replace(cfg, p_mean=cfg.noise_mean)  # the manifest records the value used
    model = kind.build(enc_cfg, cfg)
    steps = cfg.steps_per_epoch or max(1, sd.split.train.size * 8 // cfg.batch)
    ema = cfg.ema if kind.ema else 0.0
    loop = LoopConfig(epochs=cfg.epochs, steps_per_epoch=steps, lr=cfg.lr,
                      patience=cfg.patience, grad_clip=cfg.grad_clip, ema=ema)
    trainer = Trainer(model, loop, spec.device, _resume_path(spec), progress, callback, cancel,
                      desc=f"{kind.name} {spec.region} {spec.season}",
                      max_seconds=spec.max_seconds)
    trainer.try_resume()
    val_batches = validation_batches(sd, cfg, enc_cfg.history, encoder, cfg.batch, spec.seed,
                                     spec.device)

    def step(m: nn.Module, k: int) -> torch.Tensor:
        tgt, cond = downscaler_batch(sd, sd.split.train, cfg, enc_cfg.history, encoder,
                                     cfg.batch, _rng(spec.seed, 6, k), spec.device, current())
        return kind.loss(m, tgt, cond, cfg)

    def validate(m: nn.Module) -> float:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            return float(np.mean([float(kind.loss(m, t, c, cfg))
                                  for t, c in val_batches]))

    t0 = time.perf_counter()
    state = trainer.run(step, validate)
    tensors = dict(trainer.eval_model.state_dict())
    extra: dict = {"downscaler_config": to_dict(cfg), "encoder_config": to_dict(enc_cfg)}
    if encoder is not None:
        tensors |= {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
        extra["encoder"] = {"path": str(spec.encoder_path),
                            "weights_sha256": enc_manifest["weights_sha256"]}
    path = _finish(spec, tensors, sd, fp, state, time.perf_counter() - t0, extra, ds.variable)
    _cleanup(_resume_path(spec))
    return path


def describe(path: Path) -> str:
    m = read_manifest(path)
    return json.dumps({k: m.get(k) for k in ("kind", "region", "season", "preset")})
