"""Autoregressive generation of fine fields: ensembles, both samplers, CF-style output.

For every day the model is conditioned on the coarse field of that day, the static planes
and (for transfer models) the frozen encoder's features of the previous ``history`` fine
fields. In *strict* mode the generated days replace the truth in that history, so the
roll-out can continue past the end of the fine record, for any coarse day. Where no fine
history exists yet (before the fine record), the history starts from the coarse fields
bilinearly regridded to the fine grid, and ``spinup`` days are generated and discarded first.
Each member keeps its own history (an ensemble of trajectories).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from tqdm.auto import tqdm

from finescale.data.errors import FinescaleError
from finescale.data.layout import Dataset, RegionData, ensure_writable, groom, write_netcdf
from finescale.data.regrid import METHODS, regrid
from finescale.data.seasons import season_of
from finescale.data.splits import SplitConfig
from finescale.data.transforms import Transform, transform_from_dict
from finescale.model.checkpoints import load_checkpoint, load_into
from finescale.model.config import (
    DownscalerConfig,
    EncoderConfig,
    SamplerConfig,
    from_dict,
)
from finescale.model.datasets import SeasonData, fingerprint, season_data
from finescale.model.samplers import (
    TiledDenoiser,
    karras_sigmas,
    sample_ancestral,
    sample_dpm2m,
    sample_heun,
)
from finescale.model.training import USES_FEATURES, build_downscaler, build_encoder, freeze


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


def load_model(path: Path, ds: Dataset, device: torch.device | str = "cpu") -> LoadedModel:
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
    tensors, m = load_checkpoint(path, fingerprint=fingerprint(ds.manifest, region))
    enc_cfg = from_dict(EncoderConfig, m["encoder_config"])
    cfg = from_dict(DownscalerConfig, m["downscaler_config"])
    model = build_downscaler(kind, enc_cfg, cfg)
    load_into(model, {k: v for k, v in tensors.items() if not k.startswith("encoder.")}, path)
    encoder = None
    if USES_FEATURES[kind]:
        encoder = build_encoder(enc_cfg)
        load_into(encoder, tensors, path, prefix="encoder.")
        encoder = freeze(encoder).to(device)
    return LoadedModel(path=Path(path), kind=kind, region=region, season=m["season"],
                       manifest=m, model=freeze(model).to(device), encoder=encoder,
                       enc_cfg=enc_cfg, cfg=cfg, transform=transform_from_dict(m["transform"]),
                       variable=ds.variable, data=ds.region(region))


def check_compatible(path: Path, manifest: dict, ds: Dataset) -> None:
    """A checkpoint applies only to the variable and transform kind it was trained on."""
    var = manifest.get("variable")  # absent from checkpoints older than the choice
    if var is not None and var != ds.variable:
        raise FinescaleError(f"{path} was trained on variable {var!r}; dataset {ds.path} holds "
                             f"{ds.variable!r}")
    kind = transform_from_dict(manifest["transform"]).kind
    if kind != ds.transform:
        raise FinescaleError(f"{path} was trained with the {kind!r} transform; dataset "
                             f"{ds.path} uses {ds.transform!r}")


def _sample(lm: LoadedModel, cond: torch.Tensor, sampler: SamplerConfig,
            gen: torch.Generator) -> torch.Tensor:
    with torch.autocast(cond.device.type, dtype=torch.bfloat16,
                        enabled=sampler.precision == "bf16"):
        return _sample_in(lm, cond, sampler, gen).float()


def _sample_in(lm: LoadedModel, cond: torch.Tensor, sampler: SamplerConfig,
               gen: torch.Generator) -> torch.Tensor:
    m, (h, w) = cond.shape[0], cond.shape[-2:]
    if lm.kind in ("unet", "transfer"):
        return lm.model(cond)
    if lm.kind == "vae":
        return lm.model.sample(cond, generator=gen)
    noise = torch.randn((m, 1, h, w), generator=gen, device=cond.device)
    sigmas = karras_sigmas(sampler.steps, sampler.sigma_min, sampler.sigma_max, sampler.rho,
                           device=cond.device)
    if sampler.kind == "fast":
        den = lm.model
        if sampler.windows and max(h, w) > lm.cfg.patch:
            p = lm.cfg.patch  # the same pixels per call as the paper protocol's tiles
            stride, halo = sampler.window_grid(p)
            den = TiledDenoiser(lm.model, tile=p, stride=stride, halo=halo,
                                batch=max(1, sampler.tile_batch * sampler.tile**2 // p**2))
        solve = sample_dpm2m if sampler.solver == "dpm2m" else sample_heun
        return solve(den, noise, cond, sigmas)
    tiled = TiledDenoiser(lm.model, tile=sampler.tile, stride=sampler.tile_stride,
                          halo=sampler.halo, batch=sampler.tile_batch)
    return sample_ancestral(tiled, noise, cond, sigmas, generator=gen)


def _initial_history(sd: SeasonData, day: pd.Timestamp, history: int) -> np.ndarray:
    try:  # all days in the fine record: one contiguous read (cheap also from disk)
        return np.ascontiguousarray(sd.fine_history(day, history))
    except FinescaleError:
        pass
    days = pd.date_range(end=day - pd.Timedelta(days=1), periods=history, freq="D")
    out = np.empty((history, *sd.shape), dtype=np.float32)
    for k, d in enumerate(days):
        i = sd.fine_days.get_indexer([d])[0]
        # before the coarse record (a user's short series): persist its first field
        out[k] = sd.fine[i] if i >= 0 else sd.base(max(d, sd.coarse_days[0]))
    return out


Checkpoint = Path | str | LoadedModel


@dataclass
class _Run:
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

        ``window`` restricts the day to a sub-area (``hist`` must already be cropped to it);
        ``season`` picks that season's model instead of the day's own (a spin-up day).
        """
        lm = self.model_for(day, season)
        sd = self.sds[lm.season]
        members = hist.shape[0]
        cond = torch.from_numpy(sd.cond(day, window))[None].repeat(members, 1, 1, 1).to(
            self.device)
        if lm.encoder is not None:
            # members share their history on a day that follows true fields: encode it once
            same = members > 1 and bool((hist == hist[:1]).all())
            feats = lm.encoder.features(hist[:1] if same else hist,
                                        size=tuple(cond.shape[-2:]), patch=lm.cfg.patch)
            cond = torch.cat([feats.expand(members, -1, -1, -1), cond], dim=1)
        gen = torch.Generator(device=self.device).manual_seed(
            int(seed) * 1_000_003 + int(day.toordinal()))
        x = _sample(lm, cond, sampler, gen)[:, 0]
        if lm.cfg.residual:
            x = x + torch.from_numpy(sd.base(day, window)).to(self.device)
        return x.clamp(*lm.transform.bounds)  # the training range, widened by half

    def physical(self, day: pd.Timestamp, x: torch.Tensor, season: str | None = None
                 ) -> np.ndarray:
        lm = self.model_for(day, season)
        return lm.transform.inverse(x.cpu().numpy().astype(np.float64))


def _prepare(ds: Dataset, checkpoints: Sequence[Checkpoint], days: pd.DatetimeIndex,
             device: str | torch.device, region: str | None) -> _Run:
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
    sds = {s: season_data(rd, s, SplitConfig(**first.manifest["split"]), lm.transform)
           for s, lm in by_season.items()}
    for d in (days[0], days[-1]):
        sds[first.season].coarse_index(d)  # clear error for a date outside the coarse record
    return _Run(by_season, sds, first, device)


def _check_members(members: int) -> None:
    if members < 1:
        raise FinescaleError(f"members must be >= 1, got {members}")


def _date_range(start: str, end: str) -> pd.DatetimeIndex:
    try:
        days = pd.date_range(start, end, freq="D")
    except (ValueError, TypeError) as err:
        raise FinescaleError(f"bad date range {start!r} .. {end!r}: {err}") from None
    if days.size == 0:
        raise FinescaleError(f"empty date range: {start} .. {end}")
    return days


def _roll(run: _Run, days: pd.DatetimeIndex, members: int, sampler: SamplerConfig, seed: int,
          strict: bool, spinup: int, progress: bool,
          callback: Callable[[int, int], None] | None, cancel: threading.Event | None
          ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (index in ``days``, physical fields (member, lat, lon)) day after day.

    Only the history (``members`` × ``history`` fields) is kept, so memory does not grow
    with the period.
    """
    sd0 = run.sds[run.first.season]
    H = run.first.enc_cfg.history
    run_days = days
    if sd0.fine_days.get_indexer([days[0] - pd.Timedelta(days=1)])[0] < 0 and spinup > 0:
        run_days = pd.date_range(days[0] - pd.Timedelta(days=spinup), days[-1], freq="D")
        sd0.coarse_index(run_days[0])
    hist = torch.from_numpy(_initial_history(sd0, run_days[0], H))[None].repeat(
        members, 1, 1, 1).to(run.device)
    bar = tqdm(run_days, desc=f"generate {run.first.kind} {run.first.region}", unit="day",
               disable=not progress)
    k = 0
    with torch.no_grad():
        for n, day in enumerate(bar):
            if cancel is not None and cancel.is_set():
                raise FinescaleError("generation cancelled")
            x = run.step(day, hist, sampler, seed)
            sd = run.sds[season_of([day])[0]]
            truth_i = sd.fine_days.get_indexer([day])[0]
            nxt = x if (strict or truth_i < 0) else torch.from_numpy(sd.fine[truth_i]).to(
                run.device).expand_as(x)
            hist = torch.cat([hist[:, 1:], nxt[:, None]], dim=1)
            if day >= days[0]:
                yield k, run.physical(day, x)
                k += 1
            if callback:
                callback(n + 1, len(run_days))


def generate(ds: Dataset, checkpoints: Sequence[Checkpoint], start: str, end: str,
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
    days = _date_range(start, end)
    if len(checkpoints) == 1 and str(checkpoints[0]).startswith("interp:"):
        method = str(checkpoints[0]).split(":", 1)[1]
        return interpolate_region(ds, region or next(iter(ds.regions)), method, days)
    run = _prepare(ds, checkpoints, days, device, region)
    out = np.empty((members, days.size, *run.sds[run.first.season].shape), dtype=np.float32)
    for k, values in _roll(run, days, members, sampler, seed, strict, spinup, progress,
                           callback, cancel):
        out[:, k] = values
    return _to_dataset(ds, run.first, days, out, checkpoints, sampler, seed, strict, spinup)


def generate_to_file(ds: Dataset, checkpoints: Sequence[Checkpoint], start: str, end: str,
                     path: Path, members: int = 1, sampler: SamplerConfig | None = None,
                     seed: int = 0, device: str | torch.device = "cpu", strict: bool = True,
                     spinup: int = 7, progress: bool = True,
                     callback: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None, region: str | None = None) -> Path:
    """:func:`generate`, streamed to a NetCDF file day by day.

    Memory stays bounded by one day of the ensemble plus the history, however long the
    period (e.g. all of 2000–2024): the file's layout is written first (NaN placeholders,
    chunked per member-day) and each day's fields, truth and coarse input are written into
    it as they are made. The file appears under ``path`` only when complete.
    """
    import h5netcdf

    sampler = sampler or SamplerConfig()
    _check_members(members)
    days = _date_range(start, end)
    path = Path(path)
    if len(checkpoints) == 1 and str(checkpoints[0]).startswith("interp:"):
        return write_generated(generate(ds, checkpoints, start, end, region=region), path)
    run = _prepare(ds, checkpoints, days, device, region)
    import dask.array as dsa

    shape = run.sds[run.first.season].shape
    lazy = dsa.full((members, days.size, *shape), np.nan, dtype=np.float32,
                    chunks=(1, 1, *shape))
    skeleton = _to_dataset(ds, run.first, days, lazy, checkpoints, sampler, seed, strict,
                           spinup, placeholders=True)
    rd, var = ds.region(run.first.region), ds.variable
    fine_days = pd.DatetimeIndex(rd.fine["time"].values)
    coarse_days = pd.DatetimeIndex(rd.coarse["time"].values)
    ensure_writable(path)
    tmp = path.with_name(f".{path.name}.tmp")
    big = (var, f"{var}_truth", f"{var}_coarse")
    try:
        # coordinates and attributes through xarray (CF encoding), then the three data
        # variables created empty (NaN fill) and written one day at a time
        write_netcdf(skeleton.drop_vars(list(big)), tmp)
        with h5netcdf.File(tmp, "r+") as f:
            for n in big:
                v = skeleton[n]
                chunks = tuple(1 if d in ("member", "time") else s
                               for d, s in zip(v.dims, v.shape, strict=True))
                nv = f.create_variable(n, v.dims, np.float32, chunks=chunks,
                                       compression="gzip", compression_opts=4, shuffle=True,
                                       fillvalue=np.float32(np.nan))
                nv.attrs.update({k: val for k, val in v.attrs.items()})
            g, t, c = (f.variables[n] for n in big)
            for k, values in _roll(run, days, members, sampler, seed, strict, spinup,
                                   progress, callback, cancel):
                g[:, k] = groom(values)
                i = fine_days.get_indexer([days[k]])[0]
                if i >= 0:
                    t[k] = groom(rd.fine[i].values)
                c[k] = groom(rd.coarse[coarse_days.get_loc(days[k])].values)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def generate_days(ds: Dataset, checkpoints: Sequence[Checkpoint], days: Sequence,
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
    run = _prepare(ds, checkpoints, days.sort_values(), device, None)
    out = np.empty((members, days.size, *run.sds[run.first.season].shape), dtype=np.float32)
    with torch.no_grad():
        for k, day in enumerate(tqdm(days, desc=f"test days {run.first.kind} "
                                     f"{run.first.region}", unit="day", disable=not progress)):
            if cancel is not None and cancel.is_set():
                raise FinescaleError("generation cancelled")
            sd = run.sds[season_of([day])[0]]
            hist = torch.from_numpy(_initial_history(sd, day, run.first.enc_cfg.history))
            hist = hist[None].repeat(members, 1, 1, 1).to(run.device)
            out[:, k] = run.physical(day, run.step(day, hist, sampler, seed))
    return _to_dataset(ds, run.first, days, out, checkpoints, sampler, seed, False, 0)


def _truth(ds: Dataset, region: str, days: pd.DatetimeIndex) -> xr.DataArray:
    fine = ds.region(region).fine
    return fine.reindex(time=days).load().astype(np.float32)


def _coarse(ds: Dataset, region: str, days: pd.DatetimeIndex) -> xr.DataArray:
    c = ds.region(region).coarse.sel(time=days).load().astype(np.float32)
    return c.rename(lat="lat_coarse", lon="lon_coarse")


def _to_dataset(ds: Dataset, lm: LoadedModel, days: pd.DatetimeIndex, values: np.ndarray,
                checkpoints: Sequence[Checkpoint], sampler: SamplerConfig, seed: int, strict: bool,
                spinup: int, placeholders: bool = False) -> xr.Dataset:
    """The CF-style result; with ``placeholders`` truth and coarse are lazy NaN arrays (to be
    filled day by day by :func:`generate_to_file`)."""
    region = ds.region(lm.region)
    var = ds.variable
    gen = xr.DataArray(values, dims=("member", "time", "lat", "lon"), name=var, coords={
        "member": np.arange(values.shape[0]), "time": days,
        "lat": region.fine["lat"].values, "lon": region.fine["lon"].values},
        attrs={**{k: v for k, v in region.fine.attrs.items() if k in ("units", "long_name",
                                                                        "standard_name")},
               "description": f"generated by finescale ({lm.kind})"})
    if placeholders:
        import dask.array as dsa

        c = region.coarse
        truth = xr.DataArray(dsa.full((days.size, *values.shape[2:]), np.nan, dtype=np.float32,
                                      chunks=(1, *values.shape[2:])),
                             dims=("time", "lat", "lon"), coords={k: gen[k] for k in
                                                                   ("time", "lat", "lon")})
        coarse = xr.DataArray(dsa.full((days.size, c.sizes["lat"], c.sizes["lon"]), np.nan,
                                       dtype=np.float32, chunks=(1, c.sizes["lat"],
                                                                 c.sizes["lon"])),
                              dims=("time", "lat_coarse", "lon_coarse"),
                              coords={"time": days, "lat_coarse": c["lat"].values,
                                      "lon_coarse": c["lon"].values})
    else:
        truth, coarse = _truth(ds, lm.region, days), _coarse(ds, lm.region, days)
    out = xr.Dataset({var: gen, f"{var}_truth": truth, f"{var}_coarse": coarse})
    out[f"{var}_truth"].attrs = {"long_name": "fine-resolution reference (NaN where none)",
                                 "units": gen.attrs.get("units", "1")}
    out[f"{var}_coarse"].attrs = {"long_name": "coarse input on its own grid",
                                  "units": gen.attrs.get("units", "1")}
    _cf_coords(out)
    out.attrs = {"Conventions": "CF-1.8", "title": "finescale downscaled ensemble",
                 "model_kind": lm.kind, "region": lm.region,
                 "checkpoints": ", ".join(str(getattr(p, "path", p)) for p in checkpoints),
                 "sampler": sampler.kind if lm.kind in ("diffusion", "ablation") else "none",
                 "sampler_steps": sampler.steps, "precision": sampler.precision,
                 "sampler_windows": int(sampler.windows),
                 "sampler_window_overlap": sampler.window_overlap,
                 "members": int(values.shape[0]), "seed": seed,
                 "strict_autoregressive": int(strict), "spinup_days": spinup,
                 "history_days": lm.enc_cfg.history, "transform": lm.transform.kind}
    return out


def _cf_coords(ds: xr.Dataset) -> None:
    for name, units, std in (("lat", "degrees_north", "latitude"),
                             ("lon", "degrees_east", "longitude"),
                             ("lat_coarse", "degrees_north", "latitude"),
                             ("lon_coarse", "degrees_east", "longitude")):
        if name in ds.coords:
            ds[name].attrs.update(units=units, standard_name=std)
    ds["member"].attrs.update(long_name="ensemble member")


def interpolate_region(ds: Dataset, region_name: str, method: str, days: pd.DatetimeIndex
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
                      f"{var}_truth": _truth(ds, region_name, days),
                      f"{var}_coarse": _coarse(ds, region_name, days)})
    _cf_coords(out)
    out.attrs = {"Conventions": "CF-1.8", "title": "finescale interpolation baseline",
                 "model_kind": f"interp-{method}", "region": region_name, "members": 1,
                 "transform": ds.transform}
    return out


def write_generated(obj: xr.Dataset, path: Path) -> Path:
    """Write a generated ensemble atomically as compressed NetCDF."""
    path = ensure_writable(Path(path))
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write_netcdf(obj, tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
