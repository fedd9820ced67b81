"""Loading validated downscalers and running one day of a season's model.

:func:`load_model` checks a checkpoint against a dataset (region, variable, transform, data
fingerprint); :class:`Run` holds one region's models, one per season, and makes one day for
every member from a history (:meth:`Run.step`); :func:`prepare_run` validates the models a
period needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir, RegionData
from finescale.data.regrid import match_cell_means
from finescale.data.seasons import season_of
from finescale.data.splits import SplitConfig
from finescale.data.transforms import Transform, transform_from_dict
from finescale.model.checkpoints import load_into, read_checkpoint
from finescale.model.config import DownscalerConfig, EncoderConfig, SamplerConfig, from_dict
from finescale.model.datasets import SeasonData, fingerprints, season_data
from finescale.model.kinds import kind as get_kind
from finescale.model.kinds import network_dtype, noise_rho
from finescale.model.training import build_encoder, freeze


@dataclass
class LoadedModel:
    """A validated downscaler checkpoint, ready to generate for its region and season."""

    path: Path
    kind: str
    region: str
    season: str
    manifest: dict
    model: torch.nn.Module
    encoder: torch.nn.Module | None
    enc_cfg: EncoderConfig
    cfg: DownscalerConfig
    transform: Transform
    variable: str = ""
    data: RegionData | None = None  # the region it was validated against (static, history)
    compiled: bool = False  # its network and features compiled (Run.compile)


def load_model(path: Path, ds: DatasetDir, device: torch.device | str = "cpu") -> LoadedModel:
    """Load and validate a downscaler checkpoint against the dataset."""
    from finescale.model.checkpoints import read_manifest

    m = read_manifest(path)
    kind, region = m.get("kind"), m.get("region")
    if kind == "encoder":
        raise FinescaleError(f"{path} is an encoder (stage 1) checkpoint; generation needs a "
                             "downscaler (diffusion, ablation, unet, transfer or vae)")
    if region not in ds.regions:
        raise FinescaleError(f"{path} is for region {region!r}, which dataset {ds.path} lacks "
                             f"(it has {', '.join(ds.regions)})")
    check_compatible(path, m, ds)
    tensors, m = read_checkpoint(path, fingerprint=fingerprints(ds.manifest, region))
    enc_cfg = from_dict(EncoderConfig, m["encoder_config"])
    cfg = from_dict(DownscalerConfig, m["downscaler_config"])
    model = get_kind(kind).build(enc_cfg, cfg)
    load_into(model, {k: v for k, v in tensors.items() if not k.startswith("encoder.")}, path)
    encoder = None
    if get_kind(kind).uses_features:
        encoder = build_encoder(enc_cfg)
        load_into(encoder, tensors, path, prefix="encoder.")
        encoder = freeze(encoder).to(device)
    return LoadedModel(path=Path(path), kind=kind, region=region, season=m["season"],
                       manifest=m, model=freeze(model).to(device), encoder=encoder,
                       enc_cfg=enc_cfg, cfg=cfg, transform=transform_from_dict(m["transform"]),
                       variable=ds.variable, data=ds.region(region))


def check_compatible(path: Path, manifest: dict, ds: DatasetDir) -> None:
    """A checkpoint applies only to the variable and transform kind it was trained on."""
    var = manifest.get("variable")  # absent from checkpoints older than the choice
    if var is not None and var != ds.variable:
        raise FinescaleError(f"{path} was trained on variable {var!r}; dataset {ds.path} holds "
                             f"{ds.variable!r}")
    kind = transform_from_dict(manifest["transform"]).kind
    if kind != ds.transform:
        raise FinescaleError(f"{path} was trained with the {kind!r} transform; dataset "
                             f"{ds.path} uses {ds.transform!r}")


def _autocast(device: torch.device, sampler: SamplerConfig):
    return torch.autocast(device.type, dtype=torch.bfloat16,
                          enabled=sampler.precision == "bf16")


def _sample(lm: LoadedModel, cond: torch.Tensor, sampler: SamplerConfig,
            gen: torch.Generator, members: int, noise: torch.Tensor | None = None
            ) -> torch.Tensor:
    with _autocast(cond.device, sampler):
        return get_kind(lm.kind).sample(lm.model, cond, sampler, lm.cfg, gen, members,
                                        noise).float()


def day_generator(seed: int, day: pd.Timestamp, device: torch.device) -> torch.Generator:
    """The random stream of one day: the same whatever period or start day asks for it."""
    return torch.Generator(device=device).manual_seed(int(seed) * 1_000_003 + day.toordinal())


NOISE_TAIL = 1e-3  # day_noise sums past days' noise until its weight ρ^k falls below this


def day_noise(shape: tuple[int, ...], day: pd.Timestamp, seed: int, rho: float,
              device: torch.device) -> tuple[torch.Tensor, torch.Generator]:
    """(initial noise of ``day``, the day's generator after drawing it). Each day draws its
    own innovation first from its own stream; with ``rho`` > 0 the noise is the AR(1) sum
    Σ ρ^k · innovation(day − k), scaled to unit variance: consecutive days' noise correlates
    by ρ, and any day's noise is the same whichever roll-out reaches it (no state)."""
    gen = day_generator(seed, day, device)
    noise = torch.randn(shape, generator=gen, device=device)
    if rho > 0:
        terms = max(2, int(np.ceil(np.log(NOISE_TAIL) / np.log(rho))))
        for k in range(1, terms):
            past = day_generator(seed, day - pd.Timedelta(days=k), device)
            noise = noise + rho**k * torch.randn(shape, generator=past, device=device)
        noise = noise * float(np.sqrt((1 - rho**2) / (1 - rho ** (2 * terms))))
    return noise, gen


Checkpoint = Path | str | LoadedModel


@dataclass
class Run:
    """Validated models of one region and kind, one per season, with their season data."""

    by_season: dict[str, LoadedModel]
    sds: dict[str, SeasonData]
    first: LoadedModel
    device: torch.device

    def model_for(self, day: pd.Timestamp, season: str | None = None) -> LoadedModel:
        return self.by_season[season or season_of([day])[0]]

    def step(self, day: pd.Timestamp, hist: torch.Tensor, sampler: SamplerConfig,
             seed: int, window: tuple[slice, slice] | None = None,
             season: str | None = None) -> torch.Tensor:
        """One day for every member (rows of ``hist``): normalised fields (member, lat, lon).
        Members that share one history pass it expanded (``hist[:1].expand(members, ...)``):
        its features are then computed once.

        ``window`` restricts the day to a sub-area (``hist`` must already be cropped to it);
        ``season`` picks that season's model instead of the day's own (a spin-up day).
        """
        lm = self.model_for(day, season)
        sd = self.sds[lm.season]
        members = hist.shape[0]
        # one row that every member shares: the samplers broadcast it (Denoiser), so the
        # ~70 full-map channels are padded and cut into windows once, not once per member
        cond = torch.from_numpy(sd.cond(day, window))[None].to(self.device)
        if lm.encoder is not None:
            # members share their history on a day that follows true fields (the roll-out
            # then passes it expanded, one row seen ``members`` times): encode it once
            same = members > 1 and hist.stride(0) == 0
            with _autocast(cond.device, sampler):  # half of a 1-call student's day
                own = network_dtype(hist[:1] if same else hist, sampler)
                feats = lm.encoder.features(own, size=tuple(cond.shape[-2:]),
                                            patch=lm.cfg.patch).float()
            cond = torch.cat([feats, cond.expand(feats.shape[0], -1, -1, -1)], dim=1)
        noise, rho = None, noise_rho(sampler, lm.kind)
        if rho > 0:
            noise, gen = day_noise((members, 1, *cond.shape[-2:]), day, seed, rho,
                                   self.device)
        else:
            gen = day_generator(seed, day, self.device)
        x = _sample(lm, cond, sampler, gen, members, noise)[:, 0]
        if lm.cfg.residual:
            x = x + torch.from_numpy(sd.base(day, window)).to(self.device)
        x = x.clamp(*lm.transform.bounds)  # the training range, widened by half
        if sampler.coarse_consistent and window is None:
            x = self._coarse_consistent(day, x, lm, sd)
        return x

    def _coarse_consistent(self, day: pd.Timestamp, x: torch.Tensor, lm: LoadedModel,
                           sd: SeasonData) -> torch.Tensor:
        """Each coarse cell's mean made equal to the day's coarse input (physical units)."""
        tr = lm.transform
        phys = tr.inverse(x.cpu().numpy().astype(np.float64))
        coarse = tr.inverse(np.asarray(sd.coarse[sd.coarse_index(day)], np.float64))
        out = match_cell_means(phys, coarse, *sd.cells, multiplicative=tr.kind == "log")
        y = torch.from_numpy(tr.forward(out).astype(np.float32)).to(x.device)
        return y.clamp(*tr.bounds)

    def compile(self) -> None:
        """Compile (``torch.compile``, inductor, static shapes) each season's network and its
        encoder's features in place; a model compiled once is left as it is. The first
        day of each new shape pays the compilation (~25 s on 2 CPU cores)."""
        for lm in self.by_season.values():
            if lm.compiled:
                continue
            lm.model = torch.compile(lm.model, dynamic=False)
            if lm.encoder is not None:
                lm.encoder._features = torch.compile(lm.encoder._features, dynamic=False)
            lm.compiled = True

    def physical(self, day: pd.Timestamp, x: torch.Tensor, season: str | None = None
                 ) -> np.ndarray:
        lm = self.model_for(day, season)
        return lm.transform.inverse(x.cpu().numpy().astype(np.float64))


def prepare_run(ds: DatasetDir, checkpoints: Sequence[Checkpoint], days: pd.DatetimeIndex,
             device: str | torch.device, region: str | None) -> Run:
    device = torch.device(device)
    models = [p if isinstance(p, LoadedModel) else load_model(Path(p), ds, device)
              for p in checkpoints]
    by_season = {lm.season: lm for lm in models}
    kinds, regions = {lm.kind for lm in models}, {lm.region for lm in models}
    if len(kinds) > 1 or len(regions) > 1:
        raise FinescaleError(f"checkpoints mix kinds {sorted(kinds)} / regions "
                             f"{sorted(regions)}; give one region and kind per run")
    if region is not None and region not in regions:
        raise FinescaleError(f"the checkpoints are for region {models[0].region}, not {region}")
    need = sorted(set(season_of(days)) - set(by_season))
    if need:
        want = ", ".join(sorted(set(season_of(days))))
        raise FinescaleError(f"no checkpoint for season(s) {', '.join(need)} in "
                             f"{days[0]:%Y-%m-%d} .. {days[-1]:%Y-%m-%d}; give checkpoints "
                             f"for: {want}")
    first = models[0]
    rd = ds.region(first.region)
    sds = {s: season_data(rd, s, SplitConfig(**first.manifest["split"]), lm.transform,
                          year_span=lm.manifest.get("year_span"))
           for s, lm in by_season.items()}
    for d in (days[0], days[-1]):
        sds[first.season].coarse_index(d)  # clear error for a date outside the coarse record
    return Run(by_season, sds, first, device)
