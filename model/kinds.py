"""Downscaler kinds: one object per kind, one protocol, one registry.

A kind says what its network is (``build``), how it learns (``loss``), how it makes a field
from a conditioning stack (``sample``) and what it needs: the frozen encoder's features
(``uses_features``), an ensemble (``stochastic``), an EMA of its weights (``ema``).
Training, generation, evaluation, the CLI and the dashboard ask the registry instead of
branching on names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from finescale.data.errors import FinescaleError
from finescale.model.config import (
    MODEL_KINDS,
    OWN_NOISE_RHO,
    DownscalerConfig,
    EncoderConfig,
    SamplerConfig,
)
from finescale.model.datasets import N_COND
from finescale.model.diffusion import Denoiser
from finescale.model.networks import ConditionalVAE, UNet
from finescale.model.samplers import (
    BatchSize,
    TiledDenoiser,
    karras_sigmas,
    sample_ancestral,
    sample_consistency,
    sample_dpm2m,
    sample_heun,
)

NOISE_EMB = 64


@dataclass(frozen=True)
class Kind:
    """The deterministic regression baseline (a U-Net from the conditioning to the field)."""

    name: str
    uses_features: bool
    stochastic: bool = False
    ema: bool = False
    uses_sampler: bool = False  # the diffusion samplers' settings apply
    # the generation settings that change this kind's result (SamplerConfig fields, and
    # "sampler" for the protocol); an ensemble's members and seed apply besides
    settings: tuple[str, ...] = ("precision",)

    def cond_channels(self, enc: EncoderConfig) -> int:
        return N_COND + (enc.features if self.uses_features else 0)

    def build(self, enc: EncoderConfig, cfg: DownscalerConfig) -> nn.Module:
        return UNet(in_ch=self.cond_channels(enc), out_ch=1, channels=cfg.channels,
                    attention=cfg.attention)

    def loss(self, model: nn.Module, target: torch.Tensor, cond: torch.Tensor,
             cfg: DownscalerConfig) -> torch.Tensor:
        return ((model(cond) - target) ** 2).mean()

    def sample(self, model: nn.Module, cond: torch.Tensor, sampler: SamplerConfig,
               cfg: DownscalerConfig, gen: torch.Generator, members: int,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """``members`` fields (member, 1, lat, lon) from ``cond``: one row per member, or one
        row that every member shares (:meth:`model.inference.Run.step`). ``noise``: the
        samplers' initial noise (member, 1, lat, lon) if not drawn from ``gen`` here."""
        out = model(cond)
        return out.expand(members, -1, -1, -1).clone() if out.shape[0] < members else out


@dataclass(frozen=True)
class DiffusionKind(Kind):
    """EDM-preconditioned conditional diffusion; both samplers."""

    stochastic: bool = True
    ema: bool = True
    uses_sampler: bool = True
    settings: tuple[str, ...] = ("sampler", "steps", "solver", "precision", "windows",
                                 "noise_rho")

    def build(self, enc: EncoderConfig, cfg: DownscalerConfig) -> nn.Module:
        net = UNet(in_ch=1 + self.cond_channels(enc), out_ch=1, channels=cfg.channels,
                   emb=NOISE_EMB, attention=cfg.attention)
        return Denoiser(net, sigma_data=cfg.sigma_data)

    def loss(self, model, target, cond, cfg):
        return model.loss(target, cond, p_mean=cfg.noise_mean, p_std=cfg.p_std)

    @staticmethod
    def initial_noise(noise: torch.Tensor | None, members: int, cond: torch.Tensor,
                      gen: torch.Generator) -> torch.Tensor:
        """The samplers' starting noise: ``noise`` if given, else drawn from ``gen`` (one
        standard normal field per member, on the conditioning's grid and device)."""
        if noise is not None:
            return noise
        return torch.randn((members, 1, *cond.shape[-2:]), generator=gen, device=cond.device)

    def sample(self, model, cond, sampler, cfg, gen, members, noise=None):
        cond = network_dtype(cond, sampler)
        noise = self.initial_noise(noise, members, cond, gen)
        sigmas = karras_sigmas(sampler.steps, sampler.sigma_min, sampler.sigma_max,
                               sampler.rho, device=cond.device)
        if sampler.protocol == "fast":
            solve = sample_dpm2m if sampler.solver == "dpm2m" else sample_heun
            return solve(windowed(model, cond, sampler, cfg), noise, cond, sigmas)
        tiled = TiledDenoiser(model, tile=sampler.tile, stride=sampler.tile_stride,
                              halo=sampler.halo, batch=sampler.tile_batch)
        return sample_ancestral(tiled, noise, cond, sigmas, generator=gen)


@dataclass(frozen=True)
class DistilledKind(DiffusionKind):
    """A consistency-distilled student of a diffusion model (:mod:`model.distill`): the same
    network, sampled in ``sampler.calls`` calls at the σ its training chose, on windows
    of its own overlap and halo (``cfg.student_overlap``, ``cfg.student_halo``)."""

    settings: tuple[str, ...] = ("calls", "precision", "windows", "noise_rho")

    def loss(self, model, target, cond, cfg):
        raise FinescaleError("a distilled model learns from its teacher: train it with "
                             "`finescale train distilled` (model.distill), not as a downscaler")

    def sample(self, model, cond, sampler, cfg, gen, members, noise=None):
        trained = len(cfg.student_sigmas)
        if not 1 <= sampler.calls <= trained:
            raise FinescaleError(f"this distilled model samples in 1 to {trained} network "
                                 f"calls; got {sampler.calls}")
        cond = network_dtype(cond, sampler)
        sig = torch.tensor(cfg.student_sigmas[: sampler.calls], device=cond.device)
        noise = self.initial_noise(noise, members, cond, gen)
        net = windowed(model, cond, sampler, cfg, overlap=cfg.student_overlap,
                       halo=cfg.student_halo)
        return sample_consistency(net, noise, cond, sig, sampler.sigma_min, generator=gen)


def network_dtype(t: torch.Tensor, sampler: SamplerConfig) -> torch.Tensor:
    """A network's input in bf16 where the sampler runs in bf16: its first operation, a
    convolution under autocast, would cast it there anyway (the same numbers reach the
    network), and the padding and windows cut from it move half the bytes. Only for inputs
    that reach nothing else before a convolution."""
    return t.to(torch.bfloat16) if sampler.precision == "bf16" else t


def windowed(model: nn.Module, cond: torch.Tensor, sampler: SamplerConfig,
             cfg: DownscalerConfig, overlap: float | None = None, halo: int | None = None):
    """The denoiser on windows of its training patch (``sampler.windows``), else whole;
    ``overlap`` and ``halo`` override the sampler's (a student's own grid)."""
    h, w = cond.shape[-2:]
    if not (sampler.windows and max(h, w) > cfg.patch):
        return model
    grid = sampler if overlap is None else replace(sampler, window_overlap=overlap)
    stride, halo = grid.window_grid(cfg.patch, halo)
    return TiledDenoiser(model, tile=cfg.patch, stride=stride, halo=halo,
                         batch=window_batch(sampler, cfg.patch, cond.device))


@dataclass(frozen=True)
class VAEKind(Kind):
    """Conditional VAE: samples from the prior given the conditioning."""

    stochastic: bool = True

    def build(self, enc, cfg):
        return ConditionalVAE(cond_ch=self.cond_channels(enc), channels=cfg.channels,
                              latent=cfg.latent)

    def loss(self, model, target, cond, cfg):
        rec, kl = model(target, cond)
        return ((rec - target) ** 2).mean() + cfg.kl_weight * kl

    def sample(self, model, cond, sampler, cfg, gen, members, noise=None):
        return model.sample(cond.expand(members, -1, -1, -1), generator=gen)


_GPU_BATCH: dict[tuple, BatchSize] = {}


def window_batch(sampler: SamplerConfig, patch: int, device: torch.device) -> int | BatchSize:
    """Windows (× members) per network call. CPU: the same pixels per call as the paper
    protocol's tiles (larger calls gain nothing there). GPU: all of them at once, halved on
    out-of-memory and remembered per device and window size for the next calls."""
    if device.type != "cuda":
        return max(1, sampler.tile_batch * sampler.tile**2 // patch**2)
    return _GPU_BATCH.setdefault((str(device), patch), BatchSize(1 << 20))


KINDS: dict[str, Kind] = {k.name: k for k in (
    DiffusionKind("diffusion", uses_features=True),
    DistilledKind("distilled", uses_features=True),
    DiffusionKind("ablation", uses_features=False),  # the same model without the encoder
    Kind("unet", uses_features=False),
    Kind("transfer", uses_features=True),
    VAEKind("vae", uses_features=False),
)}
assert tuple(KINDS) == MODEL_KINDS  # one order for tables, menus and reports
# every kind that samples from noise has its own noise memory, and only those
assert set(OWN_NOISE_RHO) == {n for n, k in KINDS.items() if k.uses_sampler}


def noise_rho(sampler: SamplerConfig, name: str) -> float:
    """The noise memory a model of kind ``name`` samples with: the sampler's if it sets one,
    else the kind's own (``OWN_NOISE_RHO``; 0 for models that do not sample from noise)."""
    if not kind(name).uses_sampler:
        return 0.0
    return OWN_NOISE_RHO[name] if sampler.noise_rho is None else sampler.noise_rho


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise FinescaleError(f"unknown model kind {name!r}; use one of "
                             f"{', '.join(KINDS)}") from None
