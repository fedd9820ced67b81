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
    a season without the user's model shows its stand-in (see :meth:`_model_for`)."""

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
        self._syncing = False
        self._wanted: str | None = params.get("model")  # the user's pick; None: the default
        if "precision" not in params:
            from finescale.model.device import fast_precision, resolve_device

            params["precision"] = fast_precision(resolve_device("auto"))
        if "log_scale" not in params:  # a log colour scale only for log-transformed data
            params["log_scale"] = dataset.transform == "log"
        super().__init__(**params)
        self.param.region.objects = list(dataset.regions)
        if self.region is None:
            self.region = self.param.region.objects[0]
        catalogue.param.watch(lambda _e: self.refresh_models(), "checkpoints")
        self._region_changed()
        self._members_changed()

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

    def validate(self) -> None:
        """Raise a clear error for a choice that cannot be generated."""
        if self.date is None:
            raise FinescaleError("pick a date")
        lo, hi = self.param.date.bounds
        if not lo <= self.date <= hi:
            raise FinescaleError(f"{self.date} is outside the coarse record {lo} .. {hi}")
        if self.model not in INTERP and self.checkpoint() is None:
            raise FinescaleError(f"no {self.model} checkpoint for {self.region} "
                                 f"{self.day_season}: train one in the Train tab or pick "
                                 "another model")

    # --- keeping region, season, day and model consistent -----------------------------------
    def refresh_models(self) -> None:
        """List the region's models (after a region change or a new checkpoint)."""
        self.param.model.objects = self.catalogue.menu(self.region)
        model = self._model_for(self.season)
        if model != self.model:
            with self._synced():
                self.model = model

    @contextmanager
    def _synced(self) -> Iterator[None]:
        """Changes made by the page itself, not the user: no watcher of the user's picks
        reacts to them."""
        before, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = before

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
        student = self.catalogue.path("distilled", self.region, season) is not None
        teacher = self.catalogue.path("diffusion", self.region, season) is not None
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
        with self._synced():  # one update: the page asks for the new day and model once
            self.param.update(date=day.date(), model=self._model_for(self.season))

    @param.depends("date", watch=True)
    def _date_changed(self) -> None:
        if self._syncing or self.date is None:
            return
        s = self.day_season
        if s != self.season:
            with self._synced():
                self.param.update(season=s, model=self._model_for(s))

    @param.depends("members", watch=True)
    def _members_changed(self) -> None:
        opts = ["mean"] + [str(i) for i in range(self.members)]
        self.param.show.objects = opts
        if self.show not in opts:
            self.show = "mean"


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
