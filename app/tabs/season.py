"""The Season tab: the paper's seasonal figures for the chosen area and season — every
model's semivariogram, spectrum, ACF/PACF and roll-out skill by lead day, and their scores —
from the evaluation reports (the user's, then the shipped one), or from a live evaluation
of a few test days when the user asks."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import xarray as xr

from finescale.app.claims import CLAIMS, adjusted_verdict, claim_cell, claims_of
from finescale.app.jobview import JobView
from finescale.app.plots import PALETTE, PLOT_HEIGHT, PLOT_WIDTH, log_ticks
from finescale.app.report import curves_dataset, find_reports, read_curves, sampler_label
from finescale.app.tables import table
from finescale.app.tabs.base import Tab
from finescale.data.bootstrap import NOT_CLAIMS
from finescale.data.diagnostics import grid_step_km
from finescale.data.resources import asset_dir
from finescale.data.splits import HELDOUT

COLUMNS = {"R²": "r2", "RMSE": "rmse", "CRPS": "crps", "spread/skill": "spread_skill",
           "variogram err": "variogram_error", "ACF err": "acf_error",
           "spectrum err": "spectrum_error"}
LIVE = {"members": 2, "days": 3, "rollout": 6}  # a live evaluation: minutes on 2 cores


INTERVAL_COLUMNS = ("R² 95 %", "diffusion − model, R² [95 %]",
                    "claim holds? R² · CRPS · variogram")  # R²∞ and fair CRPS where shown


def interval_cells(rec: dict) -> dict[str, str]:
    """A report row's bootstrap intervals as table cells (none for older reports)."""
    out = {}
    if rec.get("r2_ci_low") is not None:
        out[INTERVAL_COLUMNS[0]] = f"{rec['r2_ci_low']:.3f} – {rec['r2_ci_high']:.3f}"
    r2 = claim_cell(rec, claims_of([rec])[0][0], "{:+.3f}", verdict=False)
    if r2 is not None:
        out[INTERVAL_COLUMNS[1]] = r2
    if r2 is not None and rec.get("model") not in NOT_CLAIMS:
        out[INTERVAL_COLUMNS[2]] = " · ".join(adjusted_verdict(rec, k)
                                              for k, _, _ in claims_of([rec]))
    return out


def claims_note(recs: list[dict]) -> str:
    """What the claim columns compare (``recs``: the rows shown): the size-fair claims, an
    older report's, or both where the table mixes them."""
    compared = [r for r in recs if r.get("r2_vs_diffusion_claim")]
    fair = [claims_of([r]) is CLAIMS for r in compared]
    if not any(fair):
        return ("*This report predates the size-fair claims: its verdicts compare the "
                "ensemble mean's R² at the evaluated members and the ensemble's CRPS against "
                "a deterministic model's MAE, which favour diffusion. Evaluate again for the "
                "fair ones.*")
    note = ("*Claims: the ensemble mean's R² with infinitely many members (the members' "
            "noise removed), CRPS of forecast distributions (deterministic models dressed "
            "with their validation errors), variogram error; verdicts Holm-adjusted over the "
            "report's comparisons. Rows held out in time were trained without that "
            "season-year and scored on all of its days.")
    if not all(fair):
        note += (" Rows of an older report keep its own claims (the N-member R², CRPS "
                 "against a deterministic model's MAE), which favour diffusion.")
    return note + "*"


def report_dirs(data_path) -> list:
    """Where the dashboard looks for reports, the user's first."""
    return [data_path / "report", asset_dir() / "report"]


def _curves(cv: xr.Dataset, key: str, x: str, xlabel: str, ylabel: str, title: str,
            **opts) -> hv.Overlay:
    els = []
    if f"{key}_truth" in cv:
        els.append(hv.Curve((cv[x].values, cv[f"{key}_truth"].values), xlabel, ylabel,
                            label="truth").opts(color="black", line_width=3))
    for m in cv["model"].values:
        y = cv[key].sel(model=m).values
        if np.isfinite(y).any():
            els.append(hv.Curve((cv[x].values, y), xlabel, ylabel, label=str(m)).opts(
                color=PALETTE.get(str(m))))
    # up to eight series: the legend goes below the frame, where it hides no curve
    return hv.Overlay(els).opts(title=title, width=PLOT_WIDTH, height=PLOT_HEIGHT + 60,
                                legend_position="bottom", legend_cols=4, **opts)


def figures(cv: xr.Dataset, label: str, step_km: float,
            held: xr.Dataset | None = None) -> list[hv.Overlay]:
    """The paper's figures of one area × season from a report's curves. ``step_km``: the
    region's grid step (``data.diagnostics.grid_step_km``): the report stores the spectrum
    per grid step, the page shows it per km as the Diagnostics tab does. ``held``: the
    curves of the models held out in time, whose roll-out replaces the random split's
    (mostly through training days: in sample)."""
    spec = cv.isel(wavenumber=slice(1, None))  # bin 0 holds only the mean
    spec = spec.assign_coords(wavenumber=spec["wavenumber"] / step_km)
    out = [_curves(cv, "gamma", "distance", "distance (km)", f"semivariance ({label})²",
                   "semivariogram (members vs truth)"),
           _curves(spec, "power", "wavenumber", "wavenumber (1/km)", "power",
                   "radially averaged power spectrum", logx=True, logy=True,
                   xticks=log_ticks(spec["wavenumber"].values))]
    roll, where = (held, "held out in time") if held is not None and "pixel_acf" in held \
        else (cv, "in sample")
    if "pixel_acf" in roll:
        out += [_curves(roll, "pixel_acf", "lag", "lag (days)", "ACF",
                        f"pixel ACF of the roll-out ({where})"),
                _curves(roll, "pacf", "lag", "lag (days)", "PACF",
                        f"PACF of the area-mean roll-out ({where})"),
                _curves(roll, "lead_rmse", "lead", "lead (days)", f"RMSE ({label})",
                        f"roll-out skill by lead day ({where})")]
    return out


class SeasonTab(Tab):
    def __init__(self, **params):
        super().__init__(**params)
        self.pane = pn.Column(sizing_mode="stretch_width")
        self.live: dict[tuple[str, str], tuple[xr.Dataset, list[dict]]] = {}
        self.button = pn.widgets.Button(
            name=f"Evaluate this season now ({LIVE['days']} test days, {LIVE['members']} "
                 f"members, {LIVE['rollout']}-day roll-out)")
        self.button.on_click(self._evaluate)
        self.job = JobView(on_result=self._evaluated)
        self._drawn: tuple | None = None  # what the tab shows now (see draw)

    def draw(self, _shown=None) -> None:
        s, info = self.selection, self.info
        pair = (s.region, s.season)
        found = find_reports(report_dirs(s.dataset.path), s.dataset.manifest.get("generator"))
        # the season's tables and curves do not depend on the day: a new day, same figures
        # (each redraw would send the browser ~350 new models, which BokehJS 3.9 keeps)
        drawn = (pair, info.scale_label, tuple((str(p), (p / "metrics.json").stat().st_mtime_ns)
                                            for p, _, _ in found))
        if drawn == self._drawn:
            return
        self._drawn = drawn
        head = pn.pane.Markdown(f"### {s.region} · {s.season}: every model on its test "
                                "days")
        items: list = [head]
        cv, live_rows = self.live.get(pair, (None, []))
        where, held = "a live evaluation in this page", None
        if cv is None:
            for path, _settings, _recs in found:
                held = read_curves(path, *pair, split=HELDOUT)
                cv = read_curves(path, *pair)
                cv = held if cv is None else cv  # a report of held-out models alone
                if cv is not None:
                    where = f"`{path}`"
                    break
        rows = self._rows(found, live_rows)
        items.append(table(rows) if not rows.empty else pn.pane.Markdown(
            "*no evaluation report for this dataset: run `finescale evaluate --out "
            "DATA/report`, or evaluate this season below*"))
        if not rows.empty and INTERVAL_COLUMNS[2] in rows:  # about the rows shown
            shown = [r for r in [*live_rows, *(r for _, _, recs in found for r in recs)]
                     if (r["region"], r["season"]) == pair]
            items.append(pn.pane.Markdown(claims_note(shown)))
        if cv is not None:
            step = grid_step_km(s.region_data.fine["lat"].values)
            figs = [pn.pane.HoloViews(f) for f in figures(cv, info.scale_label, step, held)]
            items += [pn.pane.Markdown(f"*curves from {where}*"),
                      pn.GridBox(*figs, ncols=2, sizing_mode="stretch_width")]
        items.append(pn.Row(self.button, self.job))
        self.pane.objects = items

    def _rows(self, found, live: list[dict]) -> pd.DataFrame:
        s = self.selection
        rows: dict[str, dict] = {}
        for _path, settings, recs in [("live", {"live": True}, live), *found]:
            for r in recs:
                if (r["region"], r["season"]) != (s.region, s.season):
                    continue
                name = r["model"]
                if r.get("split") == HELDOUT:  # another model, on other days
                    name = f"{name} · held out in time"
                if settings.get("live"):
                    name = f"{name} · live ({LIVE['days']} days)"
                elif r.get("sampler") not in (None, "none"):  # a sampled model: say how
                    name = f"{name} · {sampler_label(settings)}"
                row = rows.setdefault(name, {"model": name})
                values = {col: r.get(k) for col, k in COLUMNS.items()} | interval_cells(r)
                for col, v in values.items():  # an earlier report's value wins; later
                    if row.get(col) is None:  # ones fill what it lacks
                        row[col] = v
        return pd.DataFrame(list(rows.values())).round(4)

    def _evaluate(self, _event=None) -> None:
        s = self.selection
        pair = (s.region, s.season)
        self.job.start("evaluate", f"Evaluating {s.region} {s.season}", lambda job: (
            pair, self.service.jobs.evaluate_season(LIVE, callback=job.on_progress,
                                                    cancel=job.cancel)))

    def _evaluated(self, result) -> None:
        from finescale.app.report import records

        pair, results = result
        self.live[pair] = (curves_dataset(results, *pair), records(results))
        self._drawn = None  # new rows and curves: draw again
        self.draw()

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane
