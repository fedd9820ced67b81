"""The finescale dashboard, served by the entry script ``app/main.py``.

This module is imported once per server process; ``panel serve`` runs the entry script once
per browser session. What pages share (the generations in flight, the similarity table) and
what is costly to set up therefore lives here, not in the script.

Layout: controls in a sidebar; tabs for the maps (coarse | generated | G5NR truth, and the
difference), the ensemble (spread and members), seasonal diagnostics, training, export.
Generation and training run in background threads (:mod:`app.jobs`); a periodic callback
copies their progress into the page, so the server stays responsive for every session.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from panel.io.state import set_curdoc

import finescale.data.similarity
import finescale.model.generation  # noqa: F401
from finescale.app import jobs
from finescale.app.live import LiveMaps, ensemble_maps
from finescale.app.page_assets import OfflineFast, skip_mathjax
from finescale.app.plots import (
    acf_plot,
    lead_plot,
    loss_curve,
    maps_png,
    scatter_density,
    shared_clim,
    spectrum_plot,
    variogram_plot,
)
from finescale.app.state import (
    INTERP,
    Explorer,
    TrainRequest,
    cached,
    metrics_for,
    user_checkpoint_dir,
)
from finescale.data.errors import FinescaleError
from finescale.data.seasons import in_season

hv.extension("bokeh")
skip_mathjax()


def _warm_up() -> None:
    """Compile datashader's aggregation once at server start (≈ 2 s), not in a session."""
    import xarray as xr

    from finescale.app.plots import raster

    da = xr.DataArray(np.ones((8, 8)), dims=("lat", "lon"),
                      coords={"lat": np.arange(8.0), "lon": np.arange(8.0)})
    raster(da, (0.0, 7.0, 0.0, 7.0), (4, 4))


_warm_up()

POLL_MS = 300


_SIMILARITY = jobs.Once()  # one domain-similarity table per dataset and process
_GENERATING = jobs.Shared()  # one generation per choice, whichever pages wait for it
ENS_TAB, DIAG_TAB = 1, 2  # indices of the Ensemble and Diagnostics tabs


def _similarity(path: str, wake: Callable[[], None] | None = None) -> jobs.Job:
    """The domain-similarity table: read from DATA/similarity.csv (what ``finescale data
    similarity`` writes), else computed once per process in the background (about 2 minutes
    for the default data on 2 cores) and saved there; ``wake`` is called when it is ready."""
    from finescale.app.state import shared_dataset
    from finescale.data.similarity import similarity_table

    def load(job: jobs.Job) -> pd.DataFrame:
        csv = Path(path) / "similarity.csv"
        if csv.exists():
            return pd.read_csv(csv).round(4)
        table = similarity_table(shared_dataset(Path(path)))
        try:
            tmp = csv.with_name(".similarity.csv.tmp")
            table.to_csv(tmp, index=False, float_format="%.6f")
            tmp.replace(csv)
        except OSError:
            pass  # a read-only data directory: keep it in memory only
        return table.round(4)

    return _SIMILARITY.get(path, "similarity", load, wake)


_NAMES_LEFT = ".panel-df td:first-child, .panel-df th:first-child {text-align: left;}"


def _table(df: pd.DataFrame, max_height: int | None = None) -> pn.pane.DataFrame:
    """A read-only table as HTML: a few rows need no table library on every page load."""
    return pn.pane.DataFrame(df, index=False, na_rep="–", max_height=max_height,
                             sizing_mode="stretch_width", stylesheets=[_NAMES_LEFT],
                             styles={"overflow-y": "auto"} if max_height else {})


@contextmanager
def _batched() -> Iterator[None]:
    """Send a redraw's many model changes as one message."""
    doc = pn.state.curdoc
    if doc is None:
        yield
        return
    with pn.io.hold(doc):
        yield


class Dashboard(pn.viewable.Viewer):
    """Explore coarse vs generated vs truth maps and their diagnostics."""

    state = param.ClassSelector(class_=Explorer)
    train = param.ClassSelector(class_=TrainRequest)

    def __init__(self, **params):
        super().__init__(**params)
        self.result = None
        self.live: LiveMaps | None = None
        self.gen_job: jobs.Job | None = None
        self._job_key: tuple | None = None
        self.train_job: jobs.Job | None = None
        self.rollout_job: jobs.Job | None = None
        self.rollout = None
        self.progress = pn.indicators.Progress(value=0, max=100, bar_color="primary",
                                               visible=False, sizing_mode="stretch_width")
        self.status = pn.pane.Markdown("", css_classes=["fs-status"])
        self.notice = pn.Column()  # holds the no-model note only when it applies
        self.data_note = pn.pane.Markdown("", styles={"font-size": "0.85em"})
        self.maps_pane = pn.Column()
        self.ens_pane = pn.Column()
        self.diag_pane = pn.Column()
        self.sim_pane = pn.Column()
        self.train_status = pn.pane.Markdown("")
        self.train_progress = pn.indicators.Progress(value=0, max=100, visible=False)
        self.loss_pane = pn.pane.HoloViews(loss_curve([], []))
        self._shown: tuple | None = None  # (fields, clim, log) of the maps on screen
        self._build_widgets()
        self.tabs = pn.Tabs(
            ("Maps", self.maps_pane),
            ("Ensemble", self.ens_pane),
            ("Diagnostics", self.diag_pane),
            ("Train", pn.Column(self.train_controls, pn.Row(self.train_button,
                                                            self.cancel_button),
                                self.train_progress, self.train_status, self.loss_pane)),
            ("Export", pn.Column(self.download_nc, self.download_png)),
            dynamic=True)  # only the open tab is sent to the browser
        self.tabs.param.watch(self._tab_changed, "active")
        self.state.param.watch(self._request, ["region", "date", "model", "members", "sampler",
                                               "steps", "solver", "precision", "windows",
                                               "seed"])
        self.state.param.watch(self._redraw, ["show", "log_scale"])
        self.state.param.watch(self._describe, ["region"])
        self._describe()
        self._poll = None
        # served: the maps are built on the next tick of the event loop, after the page's
        # HTML has gone out, so they are ready while the browser still parses the JavaScript
        pn.state.execute(self._request, schedule=True)

    def _describe(self, *_: param.parameterized.Event) -> None:
        """The dataset line in the sidebar, and what to do when no model fits the data."""
        s = self.state
        self.data_note.object = s.dataset_note()
        if s.has_models():
            self.notice.objects = []
            return
        self.notice.objects = [pn.pane.Alert(
            f"**No trained model fits this dataset yet** ({s.dataset.variable}, "
            f"{', '.join(s.dataset.regions)}): the shipped models were trained on the "
            "embedded default. Open the Train tab and train the encoder, then a downscaler "
            "(diffusion, unet, …) for a season with fine data; until then the maps show "
            "interpolation.", alert_type="info")]

    # --- widgets --------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        s = self.state
        self.date_picker = pn.widgets.DatePicker.from_param(s.param.date, name="Date (any day "
                                                            "of the coarse record)")
        self.player = pn.widgets.DiscretePlayer(
            name=self._player_title(), show_value=False,
            options=sorted({d.date() for d in s.season_days()} | {s.date}), value=s.date,
            interval=1500, loop_policy="once", show_loop_controls=False)
        self.player.param.watch(lambda e: setattr(s, "date", e.new) if e.new else None,
                                "value")
        s.param.watch(self._season_player, ["season", "region", "date"])
        self.controls = pn.Param(
            s, parameters=["region", "season", "model", "members", "sampler", "steps",
                           "solver", "precision", "windows", "show", "log_scale", "seed"],
            widgets={"members": pn.widgets.IntSlider, "steps": pn.widgets.IntInput,
                     "seed": pn.widgets.IntInput},
            show_name=False)
        self.train_controls = pn.Param(self.train, show_name=False, widgets={
            "epochs": pn.widgets.IntInput, "steps": pn.widgets.IntInput})
        self.train_button = pn.widgets.Button(name="Start training", button_type="primary")
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="warning",
                                               disabled=True)
        self.train_button.on_click(self._start_training)
        self.cancel_button.on_click(lambda e: self.train_job and self.train_job.cancel.set())
        self.rollout_button = pn.widgets.Button(name="Roll out 30 days from this date",
                                                button_type="default")
        self.rollout_button.on_click(self._start_rollout)
        self.download_nc = pn.widgets.FileDownload(callback=self._netcdf_bytes,
                                                   filename="finescale.nc",
                                                   label="Download ensemble (NetCDF)",
                                                   button_type="success")
        self.download_png = pn.widgets.FileDownload(callback=self._png_bytes,
                                                    filename="finescale.png",
                                                    label="Download maps (PNG)")

    def _season_player(self, *_: param.parameterized.Event) -> None:
        # the shown day is always among the options (also a day outside the season's fine
        # record), so the slider's label never names a day that is not on screen
        opts = sorted({d.date() for d in self.state.season_days()} | {self.state.date})
        if self.player.options != opts:
            self.player.options = opts
        if self.player.value != self.state.date:
            self.player.value = self.state.date
        # the title carries the day: Panel's own value label is not redrawn when the options
        # change but the slider index does not (it then named a day of the old options)
        self.player.name = self._player_title()

    def _player_title(self) -> str:
        s = self.state
        return f"Animate {s.season} (fine record): {s.date}"

    # --- generation -----------------------------------------------------------------------
    def _request(self, *_: param.parameterized.Event) -> None:
        """Start generating the current choice in the background (or show the cache)."""
        s = self.state
        try:
            s.validate()
        except FinescaleError as err:
            self._notify_error(str(err))
            return
        key = s.key()
        running = self.gen_job is not None and not self.gen_job.finished
        if running and key == self._job_key:
            return  # the same request again (a widget echoing its value): keep the job
        if running:
            _GENERATING.leave(self._job_key, self)  # cancelled unless another page waits
        self._job_key = key
        label = f"{s.model} · {s.region} · {s.date}"
        hit = cached(key)
        if hit is not None:  # drawn now: in this redraw's message, or a new page's document
            self.gen_job = None
            self.progress.visible = False
            self._show(label, hit)
            return
        self.status.object = f"Generating **{label}** …"
        self.progress.visible, self.progress.value = True, 0
        self.gen_job = _GENERATING.join(key, self, self._waker(), lambda on_done: jobs.start(
            "generate", lambda job: (label, s.generate(callback=job.on_progress,
                                                       cancel=job.cancel)), on_done=on_done))
        self._ensure_poll()

    def _waker(self, then: Callable[[], None] | None = None) -> Callable[[], None] | None:
        """A thread-safe call that runs ``then`` (default :meth:`_tick`) on this session's
        event loop next, so a finished job is shown at once rather than at the next poll."""
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            return None  # no server (tests): _ensure_poll waits synchronously
        then = then or self._tick

        def wake() -> None:
            with set_curdoc(doc):
                pn.state.execute(then, schedule=True)

        return wake

    def _ensure_poll(self) -> None:
        """Poll the jobs' progress while any runs (:meth:`_tick` stops the poll after)."""
        if self._poll is None and pn.state.curdoc is not None:
            self._poll = pn.state.add_periodic_callback(self._tick, period=POLL_MS)
        elif pn.state.curdoc is None:  # no server (tests): finish synchronously
            while self.gen_job is not None and not self.gen_job.finished:
                import time

                time.sleep(0.05)
            self._tick()

    def _tick(self) -> None:
        job = self.gen_job
        if job is not None:
            self.progress.value = int(100 * job.fraction)
            if job.finished:
                self.gen_job = None
                self.progress.visible = False
                if job.error:
                    if "cancelled" not in job.error:
                        self._notify_error(job.error)
                else:
                    self._show(*job.result)
        self._tick_training()
        self._tick_rollout()
        idle = all(j is None for j in (self.gen_job, self.train_job, self.rollout_job))
        if idle and self._poll is not None:  # an idle session costs the server nothing
            self._poll.stop()
            self._poll = None

    def _show(self, label: str, result) -> None:
        self.result = result
        self.status.object = f"Showing **{label}**"
        self._redraw()

    def _notify_error(self, msg: str) -> None:
        self.status.object = f"⚠️ {msg}"
        if pn.state.notifications is not None:
            pn.state.notifications.error(msg, duration=8000)

    # --- drawing --------------------------------------------------------------------------
    def _redraw(self, *_: param.parameterized.Event) -> None:
        if self.result is None:
            return
        try:
            with _batched():
                self._draw()
        except FinescaleError as err:
            self._notify_error(str(err))

    def _draw(self) -> None:
        s = self.state
        f = s.fields(self.result)
        what = "ensemble mean" if s.show == "mean" else f"member {s.show}"
        titles = {"coarse": f"coarse input · {s.date}",
                  "generated": f"{s.model} · {what}",  # the day is in the other titles
                  "truth": f"{s.truth_name} truth · {s.date}",
                  "no_truth": f"No {s.truth_name} field\nexists for {s.date}:\nthe middle map "
                              "is\n" + (
                      "interpolated\nfrom the coarse field" if s.model in INTERP
                      else "an autoregressive\nreconstruction")}
        key = f"_{s.region}"
        # one colour range for the maps and the member gallery
        log = s.log_scale and s.kind == "log"  # signed data have no log colour scale
        clim = shared_clim(f["coarse"], f["generated"], f["truth"], log=log)
        if self.live is not None and self.live.matches(key, log):
            self.live.show(f, titles, clim)  # same figures, new data: a fast redraw
        else:  # new region (other axes) or colour scale (other mapper): new figures
            self.live = LiveMaps(f, titles, clim, key, log, scale=s.scale, label=s.scale_label,
                                 units_label=f"{s.dataset.variable} [{s.dataset.units}]")
            self.maps_pane.objects = [self.live.layout]
        if f["truth"] is not None:
            m = metrics_for(self.result, s.dataset.variable)
            if m:
                self.status.object += (f" — R² {m['r2']:.3f}, RMSE {m['rmse']:.3f} "
                                       f"({s.scale_label})")
        self._shown = (f, clim, log)
        # the other tabs are drawn when opened: keeps page-ready and redraws fast
        waiting = {ENS_TAB: (self.ens_pane, "*drawing the ensemble …*"),
                   DIAG_TAB: (self.diag_pane, "*computing diagnostics …*")}
        for tab, (pane, text) in waiting.items():
            if self.tabs.active == tab:
                self._draw_tab(tab)
            else:
                pane.objects = [pn.pane.Markdown(text)]

    def _draw_tab(self, tab: int) -> None:
        """Draw the Ensemble or Diagnostics tab for the maps on screen."""
        if self._shown is None:
            return
        f, clim, log = self._shown
        if tab == ENS_TAB:
            self._draw_ensemble(f, clim, log)
        elif tab == DIAG_TAB:
            self._draw_diagnostics(f)

    def _draw_ensemble(self, f: dict, clim: tuple[float, float], log: bool) -> None:
        s, n = self.state, f["members"].sizes["member"]
        ens = [pn.pane.Markdown(f"Ensemble of **{n} member{'s' * (n > 1)}** · {s.model} · "
                                f"{s.date}: per-pixel spread, and each member on the maps' "
                                "colour scale")]
        maps = ensemble_maps(f["spread"], f["members"], clim, log, variable=s.dataset.variable)
        if f["spread"] is None:
            ens.append(pn.pane.Markdown("Spread needs ≥ 2 members."))
        else:
            ens.append(maps.pop(0).pane)
        ens.append(pn.GridBox(*[m.pane for m in maps], ncols=4))  # members zoom together
        self.ens_pane.objects = ens

    def _tab_changed(self, event: param.parameterized.Event) -> None:
        self._draw_tab(event.new)

    def _season_series(self) -> dict[str, np.ndarray]:
        s = self.state
        reg = s.region_data
        ft = pd.DatetimeIndex(reg.fine["time"].values)
        days = ft[in_season(ft, s.season)]
        out = {"truth": s.scale(reg.fine.sel(time=days).mean(("lat", "lon")).values),
               "coarse": s.scale(reg.coarse.sel(time=days).mean(("lat", "lon")).values)}
        if self.rollout is not None:
            out["generated"] = s.scale(self.rollout[s.dataset.variable]
                                       .mean(("member", "lat", "lon")).values)
        return out

    def _draw_diagnostics(self, f: dict) -> None:
        s = self.state
        from finescale.data.regrid import regrid

        bilinear = regrid(f["coarse"], f["generated"]["lat"].values,
                          f["generated"]["lon"].values, "bilinear")
        fields = {"coarse": f["coarse"], "bilinear": bilinear, "truth": f["truth"],
                  "generated": f["generated"]}
        series = self._season_series()
        scale, label = s.scale, s.scale_label
        row1 = [pn.pane.HoloViews(variogram_plot(fields, scale=scale, label=label)),
                pn.pane.HoloViews(spectrum_plot({k: v for k, v in fields.items()
                                                 if k != "coarse"}, scale=scale))]
        row2 = [pn.pane.HoloViews(acf_plot(series, label=label)),
                pn.pane.HoloViews(acf_plot(series, partial=True, label=label))]
        items = [pn.pane.Markdown(f"### {s.region} · {s.season} · {s.date}"),
                 pn.Row(*row1), pn.Row(*row2), self.rollout_button]
        lead = self._rollout_lead()
        if lead is not None:
            items.append(pn.pane.HoloViews(lead_plot(*lead, label=s.model, scale_label=label)))
        if f["truth"] is not None:
            items.append(pn.pane.HoloViews(scatter_density(f["generated"], f["truth"], scale,
                                                           label)))
            items.append(pn.pane.Markdown(f"#### Scores of this day ({label})"))
            items.append(_table(self._metrics_table()))
        items += self._season_report()
        items.append(pn.pane.Markdown(f"#### Domain similarity (Wasserstein, {label} "
                                      "min–max scaled)"))
        items.append(self.sim_pane)
        self._fill_similarity()
        self.diag_pane.objects = items

    def _fill_similarity(self) -> None:
        """The similarity table, or a note while it is computed; called again when it ends."""
        sim = _similarity(str(self.state.dataset.path), self._waker(self._fill_similarity))
        if sim.finished and sim.error:
            self.sim_pane.objects = [pn.pane.Alert(sim.error, alert_type="warning")]
        elif sim.finished:
            self.sim_pane.objects = [_table(sim.result, max_height=320)]
        else:
            self.sim_pane.objects = [pn.pane.Markdown(
                "*computing … (shown here when it is ready, about 2 minutes on first use)*")]

    def _rollout_lead(self) -> tuple[np.ndarray, np.ndarray] | None:
        """RMSE by lead day of the last roll-out, over the days that have fine truth."""
        if self.rollout is None:
            return None
        from finescale.data.diagnostics import lag_scores

        var = self.state.dataset.variable
        truth = self.rollout[f"{var}_truth"].values
        ok = np.isfinite(truth).all(axis=(1, 2))
        if not ok.any():
            return None
        n = int(ok.argmin()) if not ok.all() else ok.size  # leading days with truth
        s = self.state
        mean = s.scale(self.rollout[var].values[:, :n]).mean(axis=0)
        ls = lag_scores(mean[None], s.scale(truth[:n])[None])
        return ls["lag"], ls["rmse"]

    def _season_report(self) -> list:
        """All models' scores for this area × season from matching `finescale evaluate`
        reports: the user's, then the shipped ones (windowed and whole-map sampler)."""
        from finescale.app.report import find_reports, sampler_label
        from finescale.data.resources import asset_dir

        s = self.state
        shipped = asset_dir()
        dirs = [s.dataset.path / "report", shipped / "report-dpm2m", shipped / "report-windows",
                shipped / "report-windows-rollout", shipped / "report"]
        found = find_reports(dirs, s.dataset.manifest.get("generator"))
        head = pn.pane.Markdown(f"#### All models, {s.region} {s.season} (held-out test days)")
        if not found:
            return [head, pn.pane.Markdown("*no evaluation report for this dataset: run "
                                           "`finescale evaluate --out DATA/report`*")]
        cols = {"R²": "r2", "RMSE": "rmse", "CRPS": "crps", "spread/skill": "spread_skill",
                "variogram err": "variogram_error", "ACF err": "acf_error",
                "spectrum err": "spectrum_error"}
        rows: dict[str, dict] = {}
        for _path, settings, recs in found:
            for r in recs:
                if (r["region"], r["season"]) != (s.region, s.season):
                    continue
                name = r["model"]
                if r.get("sampler") not in (None, "none"):  # a sampled model: say how
                    name = f"{name} · {sampler_label(settings)}"
                row = rows.setdefault(name, {"model": name})
                for col, k in cols.items():  # an earlier report's value wins; later ones
                    if row.get(col) is None:  # fill what it lacks (ACF needs a roll-out)
                        row[col] = r.get(k)
        df = pd.DataFrame(list(rows.values())).round(4)
        where = ", ".join(f"`{p}`" for p, _, _ in found)
        return [head, _table(df),
                pn.pane.Markdown(f"*from {where}; the ACF error needs a roll-out*")]

    def _metrics_table(self) -> pd.DataFrame:
        """Scores of every model already generated for this day (from the cache)."""
        s = self.state
        rows = []
        for name in s.param.model.objects:
            res = self.result if name == s.model else cached(s.key(name))
            if res is None and name in INTERP:
                from finescale.model.generation import interpolate_region

                res = interpolate_region(s.dataset, s.region, name.split(":")[1],
                                         pd.DatetimeIndex([s.day]))
            if res is None:
                continue
            m = metrics_for(res, s.dataset.variable)
            if m:
                rows.append({"model": name, "R² (Pearson²)": round(m["r2"], 4),
                             "RMSE": round(m["rmse"], 4)})
        return pd.DataFrame(rows)

    # --- roll-out -------------------------------------------------------------------------
    def _start_rollout(self, _event=None) -> None:
        s = self.state
        if s.model in INTERP:
            self._notify_error("pick a trained model for an autoregressive roll-out")
            return
        from finescale.data.seasons import season_of
        from finescale.model.generation import generate

        start = s.day
        end = start + pd.Timedelta(days=29)
        seasons = sorted(set(season_of(pd.date_range(start, end))))
        ckpts = [s.checkpoint_for(s.model, x) for x in seasons]
        if any(c is None for c in ckpts):
            self._notify_error(f"roll-out crosses into {', '.join(seasons)}: a {s.model} "
                               "checkpoint is missing for one of them")
            return
        self.status.object = "Rolling out 30 days …"
        self.rollout_job = jobs.start("rollout", lambda job: generate(
            s.dataset, ckpts, str(start.date()), str(end.date()), members=2,
            sampler=replace(s.sampler_config(), kind="fast", steps=min(s.steps, 8)),
            seed=s.seed,
            progress=False, callback=job.on_progress, cancel=job.cancel, region=s.region),
            on_done=self._waker())
        self._ensure_poll()

    def _tick_rollout(self) -> None:
        job = self.rollout_job
        if job is None:
            return
        self.status.object = f"Rolling out 30 days … {int(100 * job.fraction)} %"
        if job.finished:
            self.rollout_job = None
            if job.error:
                self._notify_error(job.error)
            else:
                self.rollout = job.result
                self.status.object = "Roll-out done: see the ACF panels"
                self._redraw()

    # --- training -------------------------------------------------------------------------
    def _start_training(self, _event=None) -> None:
        if self.train_job is not None and not self.train_job.finished:
            self._notify_error("a training run is already going in this session")
            return
        from finescale.model.checkpoints import checkpoint_name
        from finescale.model.config import get_preset, override
        from finescale.model.device import resolve_device
        from finescale.model.training import TrainSpec, train_downscaler, train_encoder

        s, t = self.state, self.train
        preset = get_preset(t.preset)
        preset = override(preset, encoder=override(preset.encoder, epochs=t.epochs,
                                                   steps_per_epoch=t.steps),
                          downscaler=override(preset.downscaler, epochs=t.epochs,
                                              steps_per_epoch=t.steps))
        out = user_checkpoint_dir()
        enc = out / f"{checkpoint_name(s.region, s.season, 'encoder')}.safetensors"
        if not enc.exists():
            shipped = s.checkpoint_for("encoder", s.season)
            enc = shipped if shipped is not None else enc
        spec = TrainSpec(kind=t.stage, region=s.region, season=s.season, preset=preset,
                         out_dir=out, device=resolve_device("auto"), encoder_path=enc,
                         command=f"dashboard: {t.stage} {s.region} {s.season} {t.preset}")
        fn = train_encoder if t.stage == "encoder" else train_downscaler
        self.train_job = jobs.start("train", lambda job: fn(
            s.dataset, spec, progress=False, callback=job.on_event, cancel=job.cancel),
            on_done=self._waker())
        self.train_button.disabled, self.cancel_button.disabled = True, False
        self.train_progress.visible = True
        self.train_status.object = f"Training **{t.stage}** for {s.region} {s.season} …"
        self._ensure_poll()

    def _tick_training(self) -> None:
        job = self.train_job
        if job is None:
            return
        self.train_progress.value = int(100 * job.fraction)
        eta = f", ETA {job.eta_s:.0f} s" if job.eta_s is not None else ""
        if job.losses:
            self.loss_pane.object = loss_curve(job.losses, job.val_losses)
            self.train_status.object = (f"Step {job.done}/{job.total}, loss "
                                        f"{job.losses[-1][1]:.4f}{eta}")
        if job.finished:
            self.train_job = None
            self.train_button.disabled, self.cancel_button.disabled = False, True
            self.train_progress.visible = False
            if job.error:
                self.train_status.object = f"⚠️ {job.error}"
                self._notify_error(job.error)
            else:
                self.train_status.object = f"Saved **{job.result.name}**; it is in the model list"
                self.state.refresh_models()
                self._describe()
                if pn.state.notifications is not None:
                    pn.state.notifications.success(f"saved {job.result.name}", duration=5000)

    # --- export ---------------------------------------------------------------------------
    def _netcdf_bytes(self) -> io.BytesIO:
        if self.result is None:
            return io.BytesIO(b"")
        import tempfile
        from pathlib import Path

        from finescale.data.layout import write_netcdf

        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "out.nc"
            write_netcdf(self.result, p)
            return io.BytesIO(p.read_bytes())

    def _png_bytes(self) -> io.BytesIO:
        if self.result is None:
            return io.BytesIO(b"")
        s = self.state
        return io.BytesIO(maps_png(s.fields(self.result), f"{s.region} {s.date} · {s.model}",
                                   s.log_scale and s.kind == "log",
                                   label=f"{s.dataset.variable} [{s.dataset.units}]"))

    # --- layout ---------------------------------------------------------------------------
    def __panel__(self) -> pn.viewable.Viewable:
        sidebar = pn.Column(self.data_note, self.date_picker, self.player, self.controls,
                            width=300)
        tabs = self.tabs
        return pn.template.FastListTemplate(
            title=f"finescale — transfer-encoder diffusion downscaling of "
                  f"{self.state.dataset.manifest.get('long_name') or self.state.dataset.variable}",
            sidebar=[sidebar], main=[pn.Column(self.notice, self.status, self.progress, tabs)],
            sidebar_width=320, theme_toggle=False, design=OfflineFast)


def create_app() -> pn.viewable.Viewable:
    try:
        return Dashboard(state=Explorer(), train=TrainRequest())
    except FinescaleError as err:
        return pn.pane.Alert(f"**finescale**: {err}", alert_type="danger")
    except Exception as err:  # a bug: say so on the page, keep the traceback in the log
        import traceback

        traceback.print_exc()
        return pn.pane.Alert(f"**finescale** could not start: {type(err).__name__}: {err}",
                             alert_type="danger")
