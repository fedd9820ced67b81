"""Consistency distillation (Song et al. 2023, "Consistency models", Algorithm 2) of a trained
diffusion downscaler into a student that samples in one or two network calls.

The student starts as a copy of the teacher. At a random pair of neighbouring noise levels
σ_n > σ_{n+1} of an ``N``-level Karras grid, one Heun step of the teacher's probability-flow
ODE carries a noisy patch from σ_n to σ_{n+1}; the student at σ_n is pulled towards its own
slow-moving (EMA) copy at σ_{n+1}. With EDM preconditioning ``c_skip(σ_min) ≈ 1``, so the
student's end of the chain is the data itself and every level learns to jump there at once.

Validation is what the student is for: its one-call field against the teacher's own ODE
solution (12 DPM-Solver++(2M) steps) from the same noise, on validation patches. After
training, the σ of the second call is chosen on validation patches by the two-call CRPS of
a 4-member ensemble against the truth, and stored in the checkpoint's configuration.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir
from finescale.data.scores import crps
from finescale.model.checkpoints import read_manifest
from finescale.model.config import SamplerConfig, to_dict
from finescale.model.datasets import fingerprint, season_data
from finescale.model.diffusion import Denoiser
from finescale.model.distributed import current
from finescale.model.inference import LoadedModel, load_model
from finescale.model.kinds import kind as get_kind
from finescale.model.samplers import (
    heun_step,
    karras_sigmas,
    sample_consistency,
    sample_dpm2m,
)
from finescale.model.training import (
    Callback,
    LoopConfig,
    Trainer,
    TrainSpec,
    _cleanup,
    _finish,
    _resume_path,
    _rng,
    downscaler_batch,
    validation_batches,
)


@dataclass(frozen=True)
class DistillConfig:
    """Consistency distillation's own settings (the network is the teacher's)."""

    levels: int = 18  # N of the σ grid (Song et al.: 18 for CIFAR-10 with a Heun teacher)
    target_ema: float = 0.95  # μ of the target network (Song et al., CD)
    lr: float = 1e-4
    batch: int = 64
    epochs: int = 20
    steps_per_epoch: int = 50
    patience: int = 6
    # candidates for the second call's σ, as multiples of σ_data (tried on validation patches)
    mid_factors: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    teacher_steps: int = 12  # the teacher's ODE solution that validation compares with
    weighting: str = "uniform"  # of the pairs of levels: uniform or gap (consistency_loss)


def teacher_for(path: Path, ds: DatasetDir, spec: TrainSpec) -> LoadedModel:
    """Load and check the teacher: a diffusion checkpoint of the spec's region and season."""
    m = read_manifest(path)
    if m.get("kind") != "diffusion":
        raise FinescaleError(f"{path} is a {m.get('kind')} checkpoint; a distilled model's "
                             "teacher must be a diffusion model")
    if (m.get("region"), m.get("season")) != (spec.region, spec.season):
        raise FinescaleError(f"teacher {path} is for {m.get('region')} {m.get('season')}, "
                             f"not {spec.region} {spec.season}")
    return load_model(path, ds, spec.device)


def consistency_loss(student: nn.Module, target: nn.Module, teacher: nn.Module,
                     x0: torch.Tensor, cond: torch.Tensor, sigmas: torch.Tensor,
                     sigma_data: float, weighting: str = "uniform") -> torch.Tensor:
    """Squared distance between the student at σ_n and the target at σ_{n+1} along the
    teacher's ODE, in units of σ_data² (``sigmas``: the descending grid, no 0).

    ``weighting`` "gap" weighs each pair by 1 / (σ_n − σ_{n+1}) (Song & Dhariwal 2023,
    improved consistency training), normalised to mean 1 over the grid: the close, low-σ
    pairs, whose differences are tiny in absolute terms, otherwise barely train."""
    n = torch.randint(0, len(sigmas) - 1, (x0.shape[0],), device=x0.device)
    s, s_next = sigmas[n], sigmas[n + 1]
    x = x0 + torch.randn_like(x0) * s.reshape(-1, 1, 1, 1)
    with torch.no_grad():
        y = target(heun_step(teacher, x, s, s_next, cond), s_next, cond)
    err = ((student(x, s, cond) - y) ** 2).mean(dim=(1, 2, 3)) / sigma_data**2
    if weighting == "gap":
        gaps = 1 / (sigmas[:-1] - sigmas[1:])
        err = err * gaps[n] / gaps.mean()
    elif weighting != "uniform":
        raise ValueError(f"weighting must be 'uniform' or 'gap', got {weighting!r}")
    return err.mean()


def distill(ds: DatasetDir, spec: TrainSpec, teacher_path: Path,
            dcfg: DistillConfig = DistillConfig(), progress: bool = True, callback: Callback = None,
            cancel: threading.Event | None = None) -> Path:
    """Train a student of the diffusion checkpoint ``teacher_path``; return its path."""
    if spec.kind != "distilled":
        raise ValueError(f"distill() trains kind 'distilled', not {spec.kind!r}")
    teacher_path = Path(teacher_path)
    teacher = teacher_for(teacher_path, ds, spec)
    torch.manual_seed(spec.seed)
    cfg, enc_cfg, dev = teacher.cfg, teacher.enc_cfg, spec.device
    sd = season_data(ds.region(spec.region), spec.season, spec.split, in_memory=True)
    sampler = SamplerConfig()
    sigmas = karras_sigmas(dcfg.levels, sampler.sigma_min, sampler.sigma_max, sampler.rho,
                           device=dev)[:-1]
    student = get_kind("distilled").build(enc_cfg, cfg)
    student.load_state_dict(teacher.model.state_dict())  # before the Trainer copies its EMA
    loop = LoopConfig(epochs=dcfg.epochs, steps_per_epoch=dcfg.steps_per_epoch, lr=dcfg.lr,
                      patience=dcfg.patience, grad_clip=cfg.grad_clip, ema=dcfg.target_ema)
    trainer = Trainer(student, loop, dev, _resume_path(spec), progress, callback, cancel,
                      desc=f"distilled {spec.region} {spec.season}", max_seconds=spec.max_seconds)
    trainer.try_resume()

    val, val_noise, val_ode = _validation_targets(teacher, sd, dcfg, spec, sampler)

    def step(m: nn.Module, k: int) -> torch.Tensor:
        x0, cond = downscaler_batch(sd, sd.split.train, cfg, enc_cfg.history, teacher.encoder,
                                    dcfg.batch, _rng(spec.seed, 6, k), dev, current())
        return consistency_loss(m, trainer.ema, teacher.model, x0, cond, sigmas,
                                cfg.sigma_data, dcfg.weighting)

    def validate(m: nn.Module) -> float:
        err = [float(((m(z * sigmas[0], sigmas[0].expand(z.shape[0]), c) - y) ** 2).mean())
               for z, (_, c), y in zip(val_noise, val, val_ode, strict=True)]
        return float(np.mean(err)) / cfg.sigma_data**2

    t0 = time.perf_counter()
    state = trainer.run(step, validate)
    path = _save_student(ds, spec, dcfg, teacher, teacher_path, trainer.eval_model.eval(),
                         val, sd, state, time.perf_counter() - t0)
    _cleanup(_resume_path(spec))
    return path


def _validation_targets(teacher, sd, dcfg: DistillConfig, spec: TrainSpec,
                        sampler: SamplerConfig) -> tuple[list, list, list]:
    """Validation batches, their fixed noises and the teacher's ODE solution from each
    (``teacher_steps`` DPM-Solver++(2M) steps): what one student call should reproduce."""
    cfg, dev = teacher.cfg, spec.device
    val = validation_batches(sd, cfg, teacher.enc_cfg.history, teacher.encoder, dcfg.batch,
                             spec.seed, dev)
    noise = [torch.randn(t.shape, generator=torch.Generator().manual_seed(k)).to(dev)
             for k, (t, _) in enumerate(val)]
    ode = karras_sigmas(dcfg.teacher_steps, sampler.sigma_min, sampler.sigma_max, sampler.rho,
                        device=dev)
    with torch.no_grad():
        targets = [sample_dpm2m(teacher.model, z, c, ode) for z, (_, c) in
                   zip(noise, val, strict=True)]
    return val, noise, targets


def _save_student(ds: DatasetDir, spec: TrainSpec, dcfg: DistillConfig, teacher,
                  teacher_path: Path, model: nn.Module, val: list, sd, state,
                  seconds: float) -> Path:
    """Choose the second call's noise level on validation days, then write the student with
    its teacher's encoder and a manifest naming the teacher's weights."""
    sampler = SamplerConfig()
    with torch.no_grad():
        search = mid_sigma_search(model, val, teacher.cfg.sigma_data, dcfg.mid_factors,
                                  sampler, spec.seed)
    one_call = search.pop(0.0)
    mid = min(search, key=search.get)
    cfg = dataclasses.replace(teacher.cfg, student_sigmas=(sampler.sigma_max, mid))
    tensors = dict(model.state_dict())
    tensors |= {f"encoder.{k}": v for k, v in teacher.encoder.state_dict().items()}
    tm = teacher.manifest
    extra = {"downscaler_config": to_dict(cfg), "encoder_config": to_dict(teacher.enc_cfg),
             "encoder": tm.get("encoder"),
             "teacher": {"name": teacher_path.stem, "path": str(teacher_path),
                         "weights_sha256": tm["weights_sha256"]},
             "distillation": {**to_dict(dcfg), "method": "consistency distillation",
                              "validation": "one-call field vs the teacher's ODE solution "
                                            "(mean squared difference / σ_data²)",
                              "validation_crps": {"one_call": one_call,
                                                  "two_calls_by_second_sigma": {
                                                      f"{k:g}": v for k, v in search.items()}}}}
    return _finish(spec, tensors, sd, fingerprint(ds.manifest, spec.region), state, seconds,
                   extra, ds.variable)


def mid_sigma_search(model: Denoiser, val: list, sigma_data: float, factors: tuple[float, ...],
                     sampler: SamplerConfig, seed: int, members: int = 4) -> dict[float, float]:
    """CRPS against the truth on validation patches (residual units, ``members`` members)
    of the two-call sample for each candidate σ of the second call (``factors`` × σ_data),
    and of the one-call sample under the key 0."""
    out = {}
    for mid in (0.0, *(round(f * sigma_data, 5) for f in factors)):
        sig = [sampler.sigma_max] + ([mid] if mid else [])
        scores = []
        for k, (t, c) in enumerate(val):
            gen = torch.Generator(device=c.device).manual_seed(seed * 1000 + k)
            cm = c.repeat(members, 1, 1, 1)
            z = torch.randn((cm.shape[0], *t.shape[1:]), generator=gen, device=c.device)
            x = sample_consistency(model, z, cm, torch.tensor(sig, device=c.device),
                                   sampler.sigma_min, generator=gen)
            ens = x.reshape(members, *t.shape).float().cpu().numpy()
            scores.append(crps(ens, t.cpu().numpy(), m_axis=0))
        out[mid] = round(float(np.mean(scores)), 6)
    return out
