"""What the page computes for a choice, and the only way the tabs reach ``model/``:
generated ensembles (cached per process; samplers one at a time per server), interpolations,
the day's scores and the season's area means; the longer work (roll-outs, live evaluations,
trainings, the similarity table) through :class:`app.page_jobs.PageJobs`.

Caches live at module level on purpose: every page of a server shares them (a day one page
generated is instant on the next)."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from finescale.app.catalogue import INTERP, Catalogue
from finescale.app.datainfo import DataInfo
from finescale.app.jobs import generation_slots
from finescale.app.page_jobs import PageJobs
from finescale.app.selection import Selection
from finescale.data.errors import FinescaleError
from finescale.data.evaluation import mean_field
from finescale.data.layout import DatasetDir, default_data_dir, open_dataset
from finescale.data.probe import box_series
from finescale.data.seasons import in_season

CACHE_SIZE = 64  # generated days kept in memory per process
_DATASETS: dict[tuple[str, float], DatasetDir] = {}
_CACHE: OrderedDict[tuple, xr.Dataset] = OrderedDict()
_SEASON_MEANS: OrderedDict[tuple[int, str], tuple[object, xr.Dataset]] = OrderedDict()


def shared_dataset(path: Path | None = None) -> DatasetDir:
    """One opened dataset per directory for the whole server: sessions share its loaded
    arrays instead of each loading the fine record again (memory and first-page time)."""
    root = Path(path or default_data_dir()).expanduser().resolve()
    manifest = root / "manifest.json"
    key = (str(root), manifest.stat().st_mtime if manifest.exists() else 0.0)
    if key not in _DATASETS:
        _DATASETS.clear()  # a re-prepared dataset replaces the old one
        _DATASETS[key] = open_dataset(root, on_disk=True)  # days read when shown
    return _DATASETS[key]


def open_selection(dataset: DatasetDir | None = None,
                   checkpoint_dirs: tuple[Path, ...] | None = None, **choice) -> Selection:
    """A page's selection over ``dataset`` (the server's shared default data) and the
    checkpoints of ``checkpoint_dirs`` (shipped and the user's), with ``choice`` set."""
    dataset = dataset if dataset is not None else shared_dataset()
    return Selection(dataset, Catalogue(dataset, checkpoint_dirs), **choice)


def cached(key: tuple) -> xr.Dataset | None:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    return None


def remember(key: tuple, value: xr.Dataset) -> None:
    _CACHE[key] = value
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def season_means(reg, season: str) -> xr.Dataset:
    """Area means of a region's fine days of ``season`` (coarse, truth), shared by every page
    of the process: a read of the whole season's record (seconds), which no day change
    alters. Keyed by the opened region itself, so a re-prepared dataset is read again."""
    key = (id(reg), season)
    hit = _SEASON_MEANS.get(key)
    if hit is not None and hit[0] is reg:
        _SEASON_MEANS.move_to_end(key)
        return hit[1]
    days = pd.DatetimeIndex(reg.fine["time"].values)
    days = days[in_season(days, season)]
    grid = reg.fine.isel(time=0)
    whole = (float(grid.lon.min()), float(grid.lon.max()), float(grid.lat.min()),
             float(grid.lat.max()))
    _SEASON_MEANS[key] = (reg, box_series(reg.coarse, reg.fine, whole, days))
    while len(_SEASON_MEANS) > 16:
        _SEASON_MEANS.popitem(last=False)
    return _SEASON_MEANS[key][1]


def metrics_for(result: xr.Dataset, variable: str) -> dict[str, float] | None:
    """R² (squared Pearson) and RMSE of the ensemble mean on the analysis scale (the mean
    of the members' log10 for log data), as ``finescale evaluate`` scores; None without
    truth."""
    from finescale.data.evaluation import check_generated, mean_scores

    if not np.isfinite(result[f"{variable}_truth"].values).any():
        return None
    g, t = check_generated(result, variable)
    return mean_scores(g, t, str(result.attrs.get("transform", "log")))


class GenerationService:
    """The computations of one page, for its :class:`Selection`."""

    def __init__(self, selection: Selection):
        self.selection = selection
        self.catalogue = selection.catalogue
        self.info = DataInfo(selection.dataset)
        self.jobs = PageJobs(selection)  # the longer work a tab may start

    @property
    def dataset(self) -> DatasetDir:
        return self.selection.dataset

    # --- the day's ensemble ---------------------------------------------------------------
    def validate(self) -> None:
        """Raise a clear error for a choice that cannot be generated."""
        s = self.selection
        if s.date is None:
            raise FinescaleError("pick a date")
        lo, hi = s.param.date.bounds
        if not lo <= s.date <= hi:
            raise FinescaleError(f"{s.date} is outside the coarse record {lo} .. {hi}")
        if s.model not in INTERP and s.checkpoint() is None:
            raise FinescaleError(f"no {s.model} checkpoint for {s.region} {s.day_season}: "
                                 "train one in the Train tab or pick another model")

    def key(self, model: str | None = None, start: pd.Timestamp | None = None,
            end: pd.Timestamp | None = None, checkpoint: Path | None = None) -> tuple:
        """Cache key of the current choice, or of the same choice with another model, other
        days or another checkpoint."""
        s = self.selection
        model = model or s.model
        if checkpoint is not None:
            ckpt = f"{checkpoint}:{Path(checkpoint).stat().st_mtime}"
        else:
            p = None if model in INTERP else s.checkpoint(model)
            ckpt = f"{p}:{p.stat().st_mtime}" if p else ""
        choice = {k: getattr(s, k) for k in Selection.GENERATED_BY}
        choice.update(model=model, date=None)  # the days are start and end
        return (str(self.dataset.path), *choice.values(), start or s.day, end or s.day, ckpt)

    def cached(self, model: str | None = None) -> xr.Dataset | None:
        """The day's ensemble of ``model`` if a page of this server made it."""
        return cached(self.key(model))

    def generate(self, callback=None, cancel=None, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None, checkpoint: Path | None = None
                 ) -> xr.Dataset:
        """The ensemble for the current choice (cached): the day, or the days ``start`` ..
        ``end`` of its season (one day ahead from the true history where it exists), with
        the chosen model or another ``checkpoint`` of the same region and variable."""
        from finescale.model.generation import generate
        from finescale.model.kinds import kind as get_kind

        s = self.selection
        self.validate()
        start, end = start or s.day, end or s.day
        key = self.key(start=start, end=end, checkpoint=checkpoint)
        hit = cached(key)
        if hit is not None:
            return hit
        if checkpoint is not None:
            ckpts = [Path(checkpoint)]
            name = self.catalogue.checked(checkpoint, s.region, s.day_season)["kind"]
        else:
            ckpts = [s.model if s.model in INTERP else s.checkpoint()]
            name = s.model
        # samplers (many network calls, most of the time and memory) run one at a time per
        # server (app.jobs.Slots); interpolation and one-pass networks are not queued
        # behind them: they take well under a second
        sampled = name not in INTERP and get_kind(name).uses_sampler
        with generation_slots().held(cancel) if sampled else contextlib.nullcontext():
            hit = cached(key)  # made by another page while this one waited
            if hit is not None:
                return hit
            out = generate(self.dataset, ckpts, str(start.date()), str(end.date()),
                           members=s.members, sampler=s.sampler_config(), seed=s.seed,
                           progress=False, callback=callback, cancel=cancel,
                           region=s.region, strict=False).load()
            remember(key, out)
        return out

    def interpolate(self, model: str) -> xr.Dataset:
        """The day interpolated (``model`` one of ``INTERP``): well under a second."""
        from finescale.model.generation import interpolate_region

        s = self.selection
        return interpolate_region(self.dataset, s.region, model.split(":")[1],
                                  pd.DatetimeIndex([s.day]))

    def check_checkpoint(self, path: Path) -> Path:
        """``path`` if it can generate the day shown (region, season, variable); else one
        clear error."""
        s = self.selection
        self.catalogue.checked(path, s.region, s.day_season)
        return Path(path)

    def fields(self, result: xr.Dataset) -> dict[str, xr.DataArray | None]:
        """The maps to show from a generated ensemble of one day."""
        s, var = self.selection, self.info.variable
        ens = result[var].isel(time=0)
        gen = mean_field(ens, self.info.transform) if s.show == "mean" else \
            ens.sel(member=int(s.show))
        truth = result[f"{var}_truth"].isel(time=0)
        coarse = s.region_data.coarse.sel(time=s.day).load()
        return {
            "coarse": coarse,
            "generated": gen,
            "truth": truth if bool(truth.notnull().any()) else None,
            "spread": ens.std("member") if ens.sizes["member"] > 1 else None,
            "members": ens,
        }

    def day_scores(self) -> pd.DataFrame:
        """Scores of every model already generated for this day (from the cache; the
        interpolations are made, they are cheap)."""
        rows = []
        for name in self.selection.param.model.objects:
            res = self.cached(name)
            if res is None and name in INTERP:
                res = self.interpolate(name)
            m = metrics_for(res, self.info.variable) if res is not None else None
            if m:
                rows.append({"model": name, "R² (Pearson²)": round(m["r2"], 4),
                             "RMSE": round(m["rmse"], 4)})
        return pd.DataFrame(rows)

    # --- the season -----------------------------------------------------------------------
    def season_series(self, rollout: xr.Dataset | None = None) -> dict[str, np.ndarray]:
        """Area means of the season's fine days (truth, coarse) and of a roll-out, on the
        analysis scale."""
        s, info = self.selection, self.info
        ser = season_means(s.region_data, s.season)
        out = {"truth": info.scale(ser["truth"].values), "coarse": info.scale(ser["coarse"].values)}
        if rollout is not None:
            out["generated"] = info.scale(rollout[info.variable].values).mean(axis=(0, 2, 3))
        return out
