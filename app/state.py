"""Dashboard state: param classes with bounded, documented parameters and no widgets.

:class:`Explorer` holds what the user picked (region, season, date, model, ensemble,
sampler) and what was computed for it (the generated ensemble of the day). Generation goes
through a per-process cache, so revisiting a date/season is instant; the view runs it in a
background thread (see :mod:`app.jobs`). :class:`Trainer` holds a training request.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import param
import xarray as xr

from finescale.app.jobs import generation_slots
from finescale.data.errors import FinescaleError
from finescale.data.evaluation import mean_field
from finescale.data.layout import DatasetDir, default_data_dir, open_dataset
from finescale.data.probe import box_series
from finescale.data.seasons import SEASONS, in_season, season_of
from finescale.data.splits import make_split
from finescale.data.transforms import analysis, analysis_label
from finescale.model.config import (
    MODEL_KINDS,
    PRECISIONS,
    SOLVERS,
    STAGES,
    USER_PRESETS,
    SamplerConfig,
    own_noise_rho,
)
from finescale.model.registry import (
    SHIPPED_DIR,
    CheckpointInfo,
    find_checkpoints,
    user_checkpoint_dir,
)

INTERP = ("interp:bilinear", "interp:nearest", "interp:bicubic")
CACHE_SIZE = 64  # generated days kept in memory per process
DASHBOARD_STEPS = 8  # solver steps by default in the page: interactive on a 2-core CPU
DASHBOARD_SOLVER = "dpm2m"  # 8 network calls a day instead of Heun's 15 (README)





_DATASETS: dict[tuple[str, float], DatasetDir] = {}


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


_CACHE: OrderedDict[tuple, xr.Dataset] = OrderedDict()


def cached(key: tuple) -> xr.Dataset | None:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    return None


def remember(key: tuple, value: xr.Dataset) -> None:
    _CACHE[key] = value
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


_SEASON_MEANS: OrderedDict[tuple[int, str], tuple[object, xr.Dataset]] = OrderedDict()


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


class Explorer(param.Parameterized):
    """What to show: region, season, day, model, ensemble and sampler.

    ``GENERATED_BY`` names what changes the generated ensemble (the cache key and the
    requests follow it); ``CONTROLS`` what the sidebar offers, in order."""

    GENERATED_BY = ("region", "date", "model", "members", "sampler", "steps", "solver",
                    "calls", "precision", "windows", "noise_rho", "seed")
    CONTROLS = ("region", "season", "model", "members", "sampler", "steps", "solver", "calls",
                "precision", "windows", "noise_rho", "show", "log_scale", "seed")

    region = param.Selector(default=None, objects=[], doc="study region")
    season = param.Selector(default="JJA", objects=list(SEASONS), doc="season (one model each)")
    date = param.CalendarDate(default=None, doc="day to downscale (any day of the coarse record)")
    model = param.Selector(default=None, objects=[], doc="downscaler or interpolation baseline")
    members = param.Integer(default=2, bounds=(1, 16), doc="ensemble members")
    sampler = param.Selector(default="fast", objects=["fast", "paper"],
                             doc="fast: an ODE solver on training-size windows; paper: "
                                 "ancestral DDPM on 16-px tiles")
    steps = param.Integer(default=DASHBOARD_STEPS, bounds=(1, 400), doc="sampler steps")
    solver = param.Selector(default=DASHBOARD_SOLVER, objects=list(SOLVERS),
                            doc="fast sampler's ODE solver: heun (2 network calls a step) or "
                                "dpm2m (DPM-Solver++(2M), 1 call a step)")
    calls = param.Integer(default=SamplerConfig.calls, bounds=(1, 2),
                          doc="network calls per map of a distilled model (its steps)")
    precision = param.Selector(default="fp32", objects=list(PRECISIONS),
                               doc="network arithmetic: bf16 is faster on CPUs that have it")
    windows = param.Boolean(default=SamplerConfig.windows,
                            doc="fast sampler: run the denoiser on windows of its training patch, "
                                "as trained (about 1.5–2× the time of one whole-map pass)")
    noise_rho = param.Selector(
        default="own", objects={"each model's own": "own", "0 (independent days)": 0.0,
                                **{f"{r:g}": r for r in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)}},
        label="Noise memory ρ",
        doc="day-to-day correlation of each member's noise in a roll-out: 0 draws every "
            f"day's fine detail afresh; each model's own ({own_noise_rho()}) keeps "
            "the truth's day-to-day persistence (docs/evaluation.md, Persistence)")
    show = param.Selector(default="mean", objects=["mean"], doc="ensemble mean or one member")
    log_scale = param.Boolean(default=True, doc="logarithmic colour scale")
    seed = param.Integer(default=0, bounds=(0, 2**31 - 1), doc="sampling seed")
    note = param.String(default="", doc="why the page changed the user's model (shown once)")

    ALWAYS = ("region", "season", "model", "show", "log_scale")

    def applicable(self) -> tuple[str, ...]:
        """The controls that change what the chosen model shows, in ``CONTROLS`` order: an
        interpolation takes no setting, a network its arithmetic, an ensemble its members and
        seed, a sampled model its sampler's (``model.kinds.Kind.settings``); the paper's
        ancestral sampler has no ODE solver and runs on its own tiles."""
        use = set(self.ALWAYS)
        if self.model is not None and self.model not in INTERP:
            from finescale.model.kinds import kind as get_kind

            kind = get_kind(self.model)
            use |= set(kind.settings) | ({"members", "seed"} if kind.stochastic else set())
            if "sampler" in use and self.sampler == "paper":
                use -= {"solver", "windows"}
        return tuple(c for c in self.CONTROLS if c in use)

    def __init__(self, dataset: DatasetDir | None = None, checkpoint_dirs: tuple[Path, ...] | None
                 = None, **params):
        self.dataset = dataset if dataset is not None else shared_dataset()
        self.checkpoint_dirs = checkpoint_dirs or (SHIPPED_DIR, user_checkpoint_dir())
        self.checkpoints: list[CheckpointInfo] = []
        self._syncing = False
        self._wanted: str | None = params.get("model")  # the user's pick; None: the default
        if "precision" not in params:
            from finescale.model.device import fast_precision, resolve_device

            params["precision"] = fast_precision(resolve_device("auto"))
        if "log_scale" not in params:  # a log colour scale only for log-transformed data
            params["log_scale"] = self.dataset.transform == "log"
        super().__init__(**params)
        self.param.region.objects = list(self.dataset.regions)
        if self.region is None:
            self.region = self.param.region.objects[0]
        self.refresh_models()
        self._region_changed()
        self._members_changed()

    # --- choices --------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Re-scan checkpoint folders (after training) and list the region's models."""
        from finescale.model.datasets import fingerprints

        fp = {r: fingerprints(self.dataset.manifest, r) for r in self.dataset.regions}
        # only checkpoints trained on this dataset's data can load: hide the others
        self.checkpoints = [c for c in find_checkpoints(*self.checkpoint_dirs)
                            if c.fingerprint in fp.get(c.region, ())]
        kinds = {c.kind for c in self.checkpoints if c.region == self.region
                 and c.kind != "encoder"}
        options = [k for k in MODEL_KINDS if k in kinds] + list(INTERP)
        self.param.model.objects = options
        model = self._model_for(self.season)
        if model != self.model:
            self._syncing = True
            try:
                self.model = model
            finally:
                self._syncing = False

    def checkpoint_for(self, kind: str, season: str) -> Path | None:
        """Newest matching checkpoint: user-trained ones win over shipped ones."""
        hits = [c for c in self.checkpoints if (c.kind, c.region, c.season) == (
            kind, self.region, season)]
        hits.sort(key=lambda c: (c.source == "user", c.path.stat().st_mtime))
        return hits[-1].path if hits else None

    @property
    def region_data(self):
        return self.dataset.region(self.region)

    # --- what the data are: labels and the scale of scores and diagnostics -----------------
    @property
    def transform(self) -> str:
        """The dataset's value transform: scores and diagnostics use its analysis scale."""
        return self.dataset.transform

    def scale(self, x):
        return analysis(self.transform, x)

    @property
    def scale_label(self) -> str:
        """e.g. ``log10 DUEXTTAU`` or ``u10 [m s-1]``."""
        return analysis_label(self.transform, self.dataset.variable, self.dataset.units)

    @property
    def truth_name(self) -> str:
        """What the fine reference is called: G5NR for the embedded default."""
        return "G5NR" if self.dataset.manifest.get("generator") else "fine"

    def dataset_note(self) -> str:
        """One line on the dataset: variable, transform, regions, and the trainable seasons."""
        m, ds = self.dataset.manifest, self.dataset
        seasons = self.region_data.meta.get("seasons") or list(SEASONS)
        return (f"**{ds.path.name}** · {ds.variable} [{ds.units}] · transform {ds.transform} · "
                f"regions {', '.join(ds.regions)} · seasons with enough fine days for "
                f"{self.region}: {', '.join(seasons)}"
                + ("" if m.get("generator") else " (imported)"))

    def has_models(self) -> bool:
        """Whether any trained downscaler (shipped or the user's) fits this dataset."""
        return any(c.kind != "encoder" for c in self.checkpoints)

    @property
    def fine_days(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.region_data.fine["time"].values)

    @property
    def coarse_days(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.region_data.coarse["time"].values)

    def season_days(self) -> pd.DatetimeIndex:
        """Days of the selected season inside the fine record (for the player)."""
        d = self.fine_days
        return d[in_season(d, self.season)]

    @param.depends("region", watch=True)
    def _region_changed(self) -> None:
        t = self.coarse_days
        self.param.date.bounds = (t[0].date(), t[-1].date())
        self.refresh_models()
        self._season_changed()

    def _model_for(self, season: str) -> str:
        """The model to show in ``season``: the user's pick where this region has it, else
        the default — the distilled student where the region has students (its skill holds
        against its teacher at ~6× the speed, docs/distillation.md), else the first listed.
        Students exist for some seasons only: there the student's teacher stands in (with a
        note when it replaces a student on screen), and the student comes back with a season
        or region that has one."""
        options = self.param.model.objects
        student = self.checkpoint_for("distilled", season) is not None
        teacher = self.checkpoint_for("diffusion", season) is not None
        if self._wanted in options:
            wanted = self._wanted
        else:
            wanted = "distilled" if "distilled" in options else options[0]
        if wanted == "distilled" and student and self.model == "diffusion":
            self.note = f"Showing the distilled model of {self.region} {season} again."
        if wanted != "distilled" or student or not teacher:
            return wanted  # a distilled pick without student or teacher: validate() says so
        if self.model == "distilled":  # the page changes what the user sees: say why
            self.note = (f"No distilled model for {self.region} {season}: showing its "
                         "teacher, the diffusion model (train one with `finescale train "
                         "distilled`).")
        return "diffusion"

    @param.depends("model", watch=True)
    def _model_picked(self) -> None:
        if not self._syncing:  # the user's choice, not a default or a stand-in
            self._wanted = self.model

    @param.depends("season", watch=True)
    def _season_changed(self) -> None:
        if self._syncing:
            return
        try:  # a held-out test day of the season: what the models have not seen
            day = make_split(self.fine_days, self.season).test[0]
        except FinescaleError:
            days = self.season_days()
            day = days[len(days) // 2] if days.size else self.coarse_days[0]
        self._syncing = True
        try:  # one update: the page asks for the new day and model once
            self.param.update(date=day.date(), model=self._model_for(self.season))
        finally:
            self._syncing = False

    @param.depends("date", watch=True)
    def _date_changed(self) -> None:
        if self._syncing or self.date is None:
            return
        s = season_of([pd.Timestamp(self.date)])[0]
        if s != self.season:
            self._syncing = True
            try:
                self.param.update(season=s, model=self._model_for(s))
            finally:
                self._syncing = False

    @param.depends("members", watch=True)
    def _members_changed(self) -> None:
        opts = ["mean"] + [str(i) for i in range(self.members)]
        self.param.show.objects = opts
        if self.show not in opts:
            self.show = "mean"

    # --- computing ------------------------------------------------------------------------
    @property
    def day(self) -> pd.Timestamp:
        return pd.Timestamp(self.date)

    def key(self, model: str | None = None, start: pd.Timestamp | None = None,
            end: pd.Timestamp | None = None, checkpoint: Path | None = None) -> tuple:
        """Cache key of the current choice, or of the same choice with another model, other
        days or another checkpoint."""
        model = model or self.model
        ckpt = f"{checkpoint}:{Path(checkpoint).stat().st_mtime}" if checkpoint else \
            self._ckpt_key(model)
        choice = {k: getattr(self, k) for k in self.GENERATED_BY}
        choice.update(model=model, date=None)  # the days are start and end
        return (str(self.dataset.path), *choice.values(), start or self.day, end or self.day,
                ckpt)

    def _ckpt_key(self, model: str) -> str:
        if model in INTERP:
            return ""
        p = self.checkpoint_for(model, season_of([self.day])[0])
        return f"{p}:{p.stat().st_mtime}" if p else ""

    def validate(self) -> None:
        """Raise a clear error for a request that cannot be generated."""
        if self.date is None:
            raise FinescaleError("pick a date")
        lo, hi = self.param.date.bounds
        if not lo <= self.date <= hi:
            raise FinescaleError(f"{self.date} is outside the coarse record {lo} .. {hi}")
        if self.model not in INTERP:
            s = season_of([self.day])[0]
            if self.checkpoint_for(self.model, s) is None:
                raise FinescaleError(f"no {self.model} checkpoint for {self.region} {s}: "
                                     "train one in the Train tab or pick another model")

    def sampler_config(self) -> SamplerConfig:
        """The sampler settings chosen in the page (one place for day and roll-out)."""
        return SamplerConfig(protocol=self.sampler, steps=self.steps, solver=self.solver,
                             calls=self.calls, precision=self.precision, windows=self.windows,
                             noise_rho=None if self.noise_rho == "own" else self.noise_rho)

    def generate(self, callback=None, cancel=None, start: pd.Timestamp | None = None,
                 end: pd.Timestamp | None = None, checkpoint: Path | None = None
                 ) -> xr.Dataset:
        """The ensemble for the current choice (cached): the day, or the days ``start`` ..
        ``end`` of its season (one day ahead from the true history where it exists), with
        the page's model or another ``checkpoint`` of the same region and variable."""
        from finescale.model.generation import generate
        from finescale.model.kinds import kind as get_kind

        self.validate()
        start, end = start or self.day, end or self.day
        key = self.key(start=start, end=end, checkpoint=checkpoint)
        hit = cached(key)
        if hit is not None:
            return hit
        if checkpoint is not None:
            ckpts, name = [Path(checkpoint)], self._checked_manifest(checkpoint)["kind"]
        elif self.model in INTERP:
            ckpts, name = [self.model], self.model
        else:
            ckpts = [self.checkpoint_for(self.model, season_of([self.day])[0])]
            name = self.model
        # samplers (many network calls, most of the time and memory) run one at a time per
        # server (app.jobs.Slots); interpolation and one-pass networks are not queued
        # behind them: they take well under a second
        sampled = name not in INTERP and get_kind(name).uses_sampler
        with generation_slots().held(cancel) if sampled else contextlib.nullcontext():
            hit = cached(key)  # made by another page while this one waited
            if hit is not None:
                return hit
            out = generate(self.dataset, ckpts, str(start.date()), str(end.date()),
                           members=self.members, sampler=self.sampler_config(),
                           seed=self.seed, progress=False, callback=callback, cancel=cancel,
                           region=self.region, strict=False).load()
            remember(key, out)
        return out

    def check_checkpoint(self, path: Path) -> Path:
        """``path`` if it is a downscaler for this region, the day's season and this
        dataset's variable; else one clear error."""
        self._checked_manifest(path)
        return Path(path)

    def _checked_manifest(self, path: Path) -> dict:
        """The manifest of ``path`` once :meth:`check_checkpoint`'s checks pass."""
        from finescale.model.checkpoints import read_manifest

        m = read_manifest(Path(path))
        season = season_of([self.day])[0]
        if m.get("kind") == "encoder":
            raise FinescaleError(f"{Path(path).name} is an encoder, not a downscaler")
        if (m.get("region"), m.get("season")) != (self.region, season):
            raise FinescaleError(f"{Path(path).name} is for {m.get('region')} "
                                 f"{m.get('season')}; the day shown is {self.region} {season}")
        if m.get("variable", self.dataset.variable) != self.dataset.variable:
            raise FinescaleError(f"{Path(path).name} downscales {m.get('variable')}, this "
                                 f"dataset holds {self.dataset.variable}")
        return m

    def comparable(self) -> list[CheckpointInfo]:
        """Every checkpoint that can generate the day shown: downscalers of this region and
        season trained on this dataset (shipped and the user's)."""
        season = season_of([self.day])[0]
        return [c for c in self.checkpoints if c.kind != "encoder"
                and (c.region, c.season) == (self.region, season)]

    def fields(self, result: xr.Dataset) -> dict[str, xr.DataArray | None]:
        """The maps to show from a generated ensemble of one day."""
        var = self.dataset.variable
        ens = result[var].isel(time=0)
        gen = mean_field(ens, self.transform) if self.show == "mean" else \
            ens.sel(member=int(self.show))
        truth = result[f"{var}_truth"].isel(time=0)
        coarse = self.region_data.coarse.sel(time=self.day).load()
        return {
            "coarse": coarse,
            "generated": gen,
            "truth": truth if bool(truth.notnull().any()) else None,
            "spread": ens.std("member") if ens.sizes["member"] > 1 else None,
            "members": ens,
        }


class TrainRequest(param.Parameterized):
    """A training run started from the dashboard."""

    stage = param.Selector(default="unet", objects=list(STAGES),
                           doc="what to train")
    preset = param.Selector(default="quick", objects=list(USER_PRESETS), doc="network sizes")
    epochs = param.Integer(default=2, bounds=(1, 200), doc="epochs")
    steps = param.Integer(default=20, bounds=(1, 10_000), doc="steps per epoch")

    def __init__(self, **params):
        super().__init__(**params)
        # the seconds-long test preset only for the test suite's servers
        if os.environ.get(ENV_TEST_PRESET):
            self.param.preset.objects = [*USER_PRESETS, "test"]


ENV_TEST_PRESET = "FINESCALE_TEST_PRESET"


def metrics_for(result: xr.Dataset, variable: str) -> dict[str, float] | None:
    """R² (squared Pearson) and RMSE of the ensemble mean on the analysis scale (the mean
    of the members' log10 for log data), as ``finescale evaluate`` scores; None without
    truth."""
    from finescale.data.evaluation import check_generated, mean_scores

    if not np.isfinite(result[f"{variable}_truth"].values).any():
        return None
    g, t = check_generated(result, variable)
    return mean_scores(g, t, str(result.attrs.get("transform", "log")))
