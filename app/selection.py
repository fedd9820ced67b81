"""What the user picked: region, season, day, model, ensemble and sampler settings — the one
definition of the page's choice, shared by the sidebar, the URL and the tabs. Parameters
only: what is computed for a choice is :class:`app.service.GenerationService`'s, which
checkpoints exist :class:`app.catalogue.Catalogue`'s."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import param

from finescale.app.catalogue import INTERP, Catalogue
from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir
from finescale.data.seasons import SEASONS, in_season, season_of
from finescale.data.splits import make_split
from finescale.model.config import (
    PRECISIONS,
    SOLVERS,
    STAGES,
    USER_PRESETS,
    SamplerConfig,
    own_noise_rho,
)

DASHBOARD_STEPS = 8  # solver steps by default in the page: interactive on a 2-core CPU
DASHBOARD_SOLVER = "dpm2m"  # 8 network calls a day instead of Heun's 15 (README)
ENV_TEST_PRESET = "FINESCALE_TEST_PRESET"


class Selection(param.Parameterized):
    """The page's choice. ``GENERATED_BY`` names what changes the generated ensemble (the
    cache key and the requests follow it); ``CONTROLS`` what the sidebar offers, in order.
    Season, day and model follow each other: a day of another season switches the season;
    a season without the user's model shows its stand-in (:meth:`Catalogue.choose`)."""

    GENERATED_BY = ("region", "date", "model", "members", "sampler", "steps", "solver",
                    "calls", "precision", "windows", "noise_rho", "seed")
    CONTROLS = ("region", "season", "model", "members", "sampler", "steps", "solver", "calls",
                "precision", "windows", "noise_rho", "show", "log_scale", "seed")
    ALWAYS = ("region", "season", "model", "show", "log_scale")

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

    def __init__(self, dataset: DatasetDir, catalogue: Catalogue, **params):
        self.dataset, self.catalogue = dataset, catalogue
        if "precision" not in params:
            from finescale.model.device import fast_precision, resolve_device

            params["precision"] = fast_precision(resolve_device("auto"))
        if "log_scale" not in params:  # a log colour scale only for log-transformed data
            params["log_scale"] = dataset.transform == "log"
        super().__init__(**params)
        self.param.region.objects = list(dataset.regions)
        if self.region is None:
            self.region = self.param.region.objects[0]
        # the user's pick (None: the default) is kept across seasons and regions
        self._rules = _Consistency(self, wanted=params.get("model"))

    # --- the day and its data -------------------------------------------------------------
    @property
    def day(self) -> pd.Timestamp:
        return pd.Timestamp(self.date)

    @property
    def day_season(self) -> str:
        return season_of([self.day])[0]

    @property
    def region_data(self):
        return self.dataset.region(self.region)

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

    def checkpoint(self, model: str | None = None, season: str | None = None) -> Path | None:
        """The checkpoint of ``model`` (the chosen one) for the region and ``season`` (the
        day's)."""
        return self.catalogue.path(model or self.model, self.region, season or self.day_season)

    # --- what applies -----------------------------------------------------------------------
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

    def sampler_config(self) -> SamplerConfig:
        """The sampler settings chosen (one place for the day and a roll-out)."""
        return SamplerConfig(protocol=self.sampler, steps=self.steps, solver=self.solver,
                             calls=self.calls, precision=self.precision, windows=self.windows,
                             noise_rho=None if self.noise_rho == "own" else self.noise_rho)


class _Consistency:
    """Keeps a selection's region, season, day and model consistent: a day of another season
    switches the season; a new season or region shows one of its test days and the user's
    model where it has one, else its stand-in (:meth:`Catalogue.choose`, with a note); a new
    checkpoint joins the menu. Changes it makes are not the user's picks."""

    def __init__(self, sel: Selection, wanted: str | None):
        self.sel, self.wanted, self.syncing = sel, wanted, False
        watch = sel.param.watch
        watch(lambda _e: self.region_changed(), "region")
        watch(lambda _e: self.model_picked(), "model")
        watch(lambda _e: self.season_changed(), "season")
        watch(lambda _e: self.date_changed(), "date")
        watch(lambda _e: self.members_changed(), "members")
        sel.catalogue.param.watch(lambda _e: self.refresh_models(), "checkpoints")
        self.region_changed()
        self.members_changed()

    @contextmanager
    def synced(self) -> Iterator[None]:
        before, self.syncing = self.syncing, True
        try:
            yield
        finally:
            self.syncing = before

    def model_for(self, season: str) -> str:
        s = self.sel
        model, note = s.catalogue.choose(s.region, season, self.wanted, s.model)
        if note:
            s.note = note
        return model

    def refresh_models(self) -> None:
        """List the region's models (after a region change or a new checkpoint)."""
        s = self.sel
        s.param.model.objects = s.catalogue.menu(s.region)
        model = self.model_for(s.season)
        if model != s.model:
            with self.synced():
                s.model = model

    def region_changed(self) -> None:
        t = self.sel.coarse_days
        self.sel.param.date.bounds = (t[0].date(), t[-1].date())
        self.refresh_models()
        self.season_changed()

    def model_picked(self) -> None:
        if not self.syncing:  # the user's choice, not a default or a stand-in
            self.wanted = self.sel.model

    def season_changed(self) -> None:
        s = self.sel
        if self.syncing:
            return
        try:  # a held-out test day of the season: what the models have not seen
            day = make_split(s.fine_days, s.season).test[0]
        except FinescaleError:
            days = s.season_days()
            day = days[len(days) // 2] if days.size else s.coarse_days[0]
        with self.synced():  # one update: the page asks for the new day and model once
            s.param.update(date=day.date(), model=self.model_for(s.season))

    def date_changed(self) -> None:
        s = self.sel
        if self.syncing or s.date is None:
            return
        season = s.day_season
        if season != s.season:
            with self.synced():
                s.param.update(season=season, model=self.model_for(season))

    def members_changed(self) -> None:
        s = self.sel
        opts = ["mean"] + [str(i) for i in range(s.members)]
        s.param.show.objects = opts
        if s.show not in opts:
            s.show = "mean"


class TrainRequest(param.Parameterized):
    """A training run started from the dashboard."""

    stage = param.Selector(default="unet", objects=list(STAGES), doc="what to train")
    preset = param.Selector(default="quick", objects=list(USER_PRESETS), doc="network sizes")
    epochs = param.Integer(default=2, bounds=(1, 200), doc="epochs")
    steps = param.Integer(default=20, bounds=(1, 10_000), doc="steps per epoch")

    def __init__(self, **params):
        super().__init__(**params)
        # the seconds-long test preset only for the test suite's servers
        if os.environ.get(ENV_TEST_PRESET):
            self.param.preset.objects = [*USER_PRESETS, "test"]
