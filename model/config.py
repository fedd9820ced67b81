"""Model configuration, declared once and shared by the CLI and the dashboard.

Two presets: ``quick`` (small networks that train on a 2-core CPU in minutes) and ``paper``
(the published sizes and schedules, for a GPU). Every field is overridable.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Literal

from finescale.data.errors import FinescaleError

# downscaler kinds in table/menu order (names only, importable without torch; their
# behaviour is in :mod:`finescale.model.kinds`)
MODEL_KINDS = ("diffusion", "distilled", "ablation", "unet", "transfer", "vae")
STAGES = ("encoder", *MODEL_KINDS)
# Day-to-day correlation of each member's initial noise in a roll-out for the kinds that
# sample from noise, when the sampler leaves it to the model (SamplerConfig.noise_rho None);
# chosen on validation windows (docs/evaluation.md, "Persistence"). Independent days' noise
# lost the truth's persistence (pixel-ACF error 0.20 / 0.23 diffusion, 0.36 ablation, 0.20 /
# 0.19 students); the ablation, without the encoder's history features, needs more memory.
OWN_NOISE_RHO = {"diffusion": 0.3, "distilled": 0.3, "ablation": 0.5}


def own_noise_rho() -> str:
    """The kinds' own noise memory for help texts: "diffusion 0.3, distilled 0.3, …"."""
    return ", ".join(f"{k} {r:g}" for k, r in OWN_NOISE_RHO.items())

N_STATIC = 6  # conditioning planes besides features: coarse, elevation, lat, lon, year, season
N_TIME = 3


@dataclass(frozen=True)
class EncoderConfig:
    """Stage 1: temporal U-Net on the coarse grid (history days as channels → next day)."""

    history: int = 40  # days of history fed as channels
    channels: tuple[int, ...] = (16, 32, 64)  # per level; the last level's width = features
    attention: bool = True  # self-attention in the mid block
    patch: int = 16  # coarse patch size
    stride: int = 8  # patch stride
    lr: float = 5e-4
    batch: int = 32
    epochs: int = 4
    steps_per_epoch: int = 60  # 0 = one pass over all patches
    patience: int = 6

    @property
    def features(self) -> int:
        return self.channels[-1]


def check_overlap(name: str, value: float) -> None:
    """Windows' overlap, a fraction of a window's core: [0, 1), else one clear error."""
    if not 0 <= value < 1:
        raise FinescaleError(f"{name} must be in [0, 1), got {value}")


@dataclass(frozen=True)
class DownscalerConfig:
    """Stage 2 networks (diffusion denoiser and the regression/VAE baselines)."""

    channels: tuple[int, ...] = (16, 32, 64)  # quick: fast enough to sample whole maps on CPU
    attention: bool = False
    patch: int = 48  # fine patch size for training
    lr: float = 5e-4
    batch: int = 16
    epochs: int = 10
    steps_per_epoch: int = 80
    patience: int = 24
    grad_clip: float = 0.5
    ema: float = 0.995
    residual: bool = True  # learn fine - regridded coarse (CorrDiff); False = full field
    sigma_data: float = 0.1  # set from training data at fit time
    # training noise levels: ln σ ~ N(p_mean, p_std²). None: set at fit time to EDM's −1.2
    # shifted by ln(σ_data / 0.5) (:func:`scaled_p_mean`). EDM tuned −1.2 for σ_data = 0.5;
    # at our σ_data ≈ 0.05 it leaves the low σ that set the finest texture nearly untrained
    # and the members come out too rough (docs/evaluation.md, "Texture")
    p_mean: float | None = None
    p_std: float = 1.2
    latent: int = 8  # VAE latent channels
    kl_weight: float = 1e-3
    # a distilled student's σ per network call (descending): call k of a k-call sample maps
    # noise at these levels to the field; set by `finescale train distilled` (on validation
    # patches), empty for every other kind
    student_sigmas: tuple[float, ...] = ()
    # a distilled student's windows (SamplerConfig.window_overlap and the halo, patch // 6,
    # set the teacher's): one call leaves each pixel to one window when windows abut, and
    # their edges show; overlapping, Hann-blended windows hide them. Validation days (8 days,
    # 4 members, 1 call; docs/distillation.md "Windows"): overlap 0.25 with a 2-px halo
    # scores as overlap 0.5 with 8 px (area0 R² 0.933 vs 0.933, CRPS 0.0869 vs 0.0877;
    # area1 0.898 vs 0.899, 0.1113 vs 0.1109) on 4.3× fewer pixels; larger windows than
    # the patch lose skill (area0, 96 px: R² 0.913), abutting ones show seams
    student_overlap: float = 0.25
    student_halo: int | None = 2  # pixels; None: the teacher's (patch // 6)

    def __post_init__(self) -> None:
        check_overlap("student_overlap", self.student_overlap)
        if self.student_halo is not None and not 0 <= 2 * self.student_halo < self.patch:
            raise FinescaleError(f"student_halo must be in [0, patch/2 = {self.patch // 2}), "
                                 f"got {self.student_halo}")

    @property
    def noise_mean(self) -> float:
        """The mean log training σ in use: ``p_mean``, or EDM's scaled to ``sigma_data``."""
        return scaled_p_mean(self.sigma_data) if self.p_mean is None else self.p_mean


EDM_SIGMA_DATA, EDM_P_MEAN = 0.5, -1.2  # Karras et al. (2022), Table 1


def scaled_p_mean(sigma_data: float) -> float:
    """EDM's mean log training σ, moved to the data's scale (same σ / σ_data as EDM's)."""
    return EDM_P_MEAN + math.log(sigma_data / EDM_SIGMA_DATA)


PRECISIONS = ("fp32", "bf16")  # network arithmetic a sampler may use
# ODE solvers of the fast sampler: Heun (2 network calls a step) or DPM-Solver++(2M) (1)
SOLVERS = ("heun", "dpm2m")
# SamplerConfig.windows: the cropped halo as a fraction of the training patch (48 px: 8)
WINDOW_HALO_DIV = 6


@dataclass(frozen=True)
class SamplerConfig:
    """Both samplers share the σ grid of Karras et al. (2022), eq. 5."""

    protocol: Literal["fast", "paper"] = "fast"  # which sampler (CLI and page: --sampler)
    steps: int = 12  # fast: solver steps; paper: ancestral steps (200)
    # fast sampler's ODE solver (SOLVERS). dpm2m: on validation days (area0 MAM, area1 JJA;
    # 8 members, 8 steps, bf16) better than Heun's 8 steps on every score (variogram error
    # 0.08/0.04 vs 0.24/0.20, spread/skill 0.92/1.01 vs 1.09/1.23) at half the network calls
    solver: Literal["heun", "dpm2m"] = "dpm2m"
    sigma_min: float = 0.002
    sigma_max: float = 10.0
    rho: float = 7.0
    tile: int = 16  # paper protocol: tile size, stride and cropped halo
    tile_stride: int = 2
    halo: int = 4
    tile_batch: int = 512
    # network arithmetic: "bf16" runs convolutions and matmuls under bfloat16 autocast (the
    # sampler's own state stays float32); `finescale bench` reports its speed and skill
    precision: Literal["fp32", "bf16"] = "fp32"
    # fast sampler: evaluate the denoiser on windows of its training patch, as training saw
    # it (GroupNorm statistics of a patch, not of the whole map); ~2x the cost
    # of one whole-map pass. Test days, all 8 pairs: R² 0.868–0.934 vs 0.825–0.905 (README)
    windows: bool = True
    # how far neighbouring windows' cores (patch less the halo) overlap, as a fraction of a
    # core: 0 = they abut, each pixel from one core with the halo as context (48 px: stride
    # 32); 0.25 = stride 24, the first evaluated setting, ~1.7x the cost for the same
    # validation scores and no visible seams at 0 (README "Model quality")
    window_overlap: float = 0.0
    # network calls per map of a distilled student (kind "distilled"), each a call of the
    # consistency model; the teacher's `steps` and `solver` do not apply to it. 1: on
    # validation patches (area0 JJA) one call beat two at every second σ tried (CRPS 0.0183
    # vs ≥ 0.0200; two calls re-noise to where the shipped teacher's ODE adds too much
    # texture, roughness 1.2-1.3× the truth's); docs/distillation.md
    calls: int = 1
    # day-to-day correlation of each member's initial noise in a roll-out (AR(1) over days,
    # unit variance every day): the truth's fine detail persists from one day to the next,
    # a diffusion model's members drew theirs afresh each day. None: each model's own,
    # chosen on validation windows (OWN_NOISE_RHO: diffusion, distilled 0.3, ablation 0.5;
    # scripts/acf_gap.py, docs/evaluation.md "Persistence"); 0 = independent days. Fast
    # and distilled samplers; the paper's ancestral sampler draws new noise at every step
    noise_rho: float | None = None
    # each generated day's fine points scaled so that every coarse cell's mean equals the
    # coarse input (data.regrid.match_cell_means, Harder et al. 2023's hard constraint),
    # before it enters the members' history; off by default (docs/reconstruct.md: measured
    # on validation days)
    coarse_consistent: bool = False

    def __post_init__(self) -> None:
        if self.noise_rho is not None and not 0.0 <= self.noise_rho < 1.0:
            raise FinescaleError(f"noise_rho must be in [0, 1), got {self.noise_rho}")
        if self.protocol not in ("fast", "paper"):
            raise FinescaleError(f"sampler must be 'fast' or 'paper', got {self.protocol!r}")
        if self.precision not in PRECISIONS:
            raise FinescaleError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        if self.solver not in SOLVERS:
            raise FinescaleError(f"solver must be one of {', '.join(SOLVERS)}, got "
                                 f"{self.solver!r}")
        if self.steps < 1:
            raise FinescaleError(f"sampler steps must be >= 1, got {self.steps}")
        if self.calls < 1:
            raise FinescaleError(f"distilled sampler calls must be >= 1, got {self.calls}")
        check_overlap("window overlap", self.window_overlap)

    @property
    def network_calls(self) -> int:
        """Denoiser evaluations per sample (per window when windowed): what time scales with."""
        if self.protocol == "paper" or self.solver == "dpm2m":
            return self.steps
        return 2 * self.steps - 1  # Heun: no correction on the last step (to σ = 0)

    def window_grid(self, patch: int, halo: int | None = None) -> tuple[int, int]:
        """(stride, halo) of the windows for a denoiser trained on ``patch``-pixel patches;
        the halo cut from each side of a window is ``patch // 6`` unless given."""
        halo = patch // WINDOW_HALO_DIV if halo is None else halo
        core = patch - 2 * halo
        return max(1, core - round(core * self.window_overlap)), halo


@dataclass(frozen=True)
class Preset:
    name: str
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    downscaler: DownscalerConfig = field(default_factory=DownscalerConfig)


PRESETS: dict[str, Preset] = {
    "quick": Preset("quick"),
    "paper": Preset(
        "paper",
        EncoderConfig(channels=(64, 128, 256), epochs=20, steps_per_epoch=0, batch=32),
        DownscalerConfig(channels=(128, 256, 512), attention=True, patch=16, lr=1e-4, batch=64,
                         epochs=100, steps_per_epoch=0),
    ),
    "test": Preset(
        "test",
        EncoderConfig(history=6, channels=(8, 8, 16), attention=True, epochs=1,
                      steps_per_epoch=3, batch=8),
        DownscalerConfig(channels=(8, 16, 16), patch=16, epochs=1, steps_per_epoch=3, batch=4),
    ),
}


# what users are offered (CLI help, the dashboard's menu); "test" is for the test suite's
# seconds-long models only
USER_PRESETS = ("quick", "paper")


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise FinescaleError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    return PRESETS[name]


def to_dict(cfg: object) -> dict:
    return asdict(cfg)  # type: ignore[call-overload]


def from_dict(cls: type, d: dict):
    """Rebuild a config dataclass, refusing unknown keys (a manifest from another version)."""
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise FinescaleError(f"unknown {cls.__name__} fields in manifest: {sorted(unknown)}")
    vals = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    return cls(**vals)


def override(cfg, **kw):
    """``replace`` that ignores None values (unset CLI options)."""
    return replace(cfg, **{k: v for k, v in kw.items() if v is not None})
