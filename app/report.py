"""Write an evaluation report: metrics.json/csv, per-day scores, report.md and PNG figures.

The report directory is written in a temporary sibling and renamed when complete, so an
interrupted run never leaves a half report behind.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from finescale.app.claims import claims_matrix, claims_summary, claims_table, claims_text
from finescale.app.report_figures import pair_figures
from finescale.data.layout import atomic_dir, generator_identity
from finescale.data.splits import HELDOUT
from finescale.model.evaluation import PairResult

KEYS = ("model", "region", "season", "r2", "rmse", "mae", "nse", "kge", "crps", "spread_skill",
        "variogram_error", "acf_error", "spectrum_error")
TABLES = (("r2", "R² (squared Pearson, {scale}, ensemble mean)", "{:.3f}"),
          ("rmse", "RMSE ({scale}, ensemble mean)", "{:.4f}"),
          ("mae", "MAE ({scale}, ensemble mean)", "{:.4f}"),
          ("nse", "NSE (Nash–Sutcliffe, {scale}, ensemble mean)", "{:.3f}"),
          ("kge", "KGE (Kling–Gupta, {scale}, ensemble mean)", "{:.3f}"),
          ("crps", "CRPS ({scale}; deterministic models: equals MAE)", "{:.4f}"),
          ("spread_skill", "Spread / skill (1 = calibrated; ensembles only)", "{:.2f}"),
          ("variogram_error", "Semivariogram error of members vs truth (relative L2)", "{:.3f}"),
          ("spectrum_error", "Radial spectrum error of members vs truth (relative L2, log "
                             "power)", "{:.3f}"),
          ("acf_error", "Pixel-ACF error of the autoregressive roll-out (relative L2)",
           "{:.3f}"))


def _clean(v):
    """JSON-safe scalars: NaN → null, numpy → python."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def season_label(rec: dict) -> str:
    """A row's season as the report's tables show it: models held out in time are another
    column of their season (scored on other days, trained on other days)."""
    return f"{rec['season']} held out" if rec.get("split") == HELDOUT else rec["season"]


def labelled(recs: Sequence[dict]) -> list[dict]:
    """The rows with ``season`` as :func:`season_label` (for the tables, not for files)."""
    return [{**r, "season": season_label(r)} for r in recs]


def stem(region: str, season: str, split: str = "test") -> str:
    """File stem of one area × season's figures and curves (held out in time: its own)."""
    return f"{region}-{season}" + ("-heldout" if split == HELDOUT else "")


def records(results: Sequence[PairResult]) -> list[dict]:
    """One record per (model, region, season): the issue's keys first, then extras."""
    out = []
    for r in results:
        rec = _clean(r.record)
        out.append({**{k: rec.get(k) for k in KEYS}, **{k: v for k, v in rec.items()
                                                         if k not in KEYS}})
    return out


def table(recs: list[dict], key: str, fmt: str) -> str:
    """Markdown table: rows area × season, columns models (the paper's layout)."""
    df = pd.DataFrame(recs)
    models = list(dict.fromkeys(df["model"]))
    piv = df.pivot_table(index=["region", "season"], columns="model", values=key,
                         aggfunc="first", dropna=False)
    lines = ["| area | season | " + " | ".join(models) + " |",
             "|---|---|" + "---|" * len(models)]
    for (region, season), row in piv.iterrows():
        cells = []
        for m in models:
            v = row.get(m)
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                # CRPS of a deterministic model: its MAE (CRPS of a point forecast)
                mae = df[(df.model == m) & (df.region == region) & (df.season == season)]
                v = mae["mae"].iloc[0] if key == "crps" and len(mae) else None
            cells.append("—" if v is None else fmt.format(v))
        lines.append(f"| {region} | {season} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves_dataset(results: Sequence[PairResult], region: str, season: str,
                   split: str | None = None) -> xr.Dataset:
    """One area × season's curves for every model (the paper's figures as data):
    semivariograms, radial spectra, roll-out ACF/PACF and skill by lead, with the truth's.
    A model without a roll-out has NaN temporal curves. ``split``: which of the pair's
    groups (default: the first result's, e.g. a live evaluation's only one)."""
    rs = [r for r in results if (r.region, r.season) == (region, season)]
    split = split or rs[0].split
    rs = [r for r in rs if r.split == split]
    first, tm = rs[0], next((r.temporal for r in rs if r.temporal is not None), None)
    models = [r.model for r in rs]
    out = xr.Dataset(
        {"gamma": (("model", "distance"), np.stack([r.spatial["gamma"] for r in rs])),
         "gamma_truth": ("distance", first.spatial["gamma_truth"]),
         "power": (("model", "wavenumber"), np.stack([r.spatial["power"] for r in rs])),
         "power_truth": ("wavenumber", first.spatial["power_truth"])},
        coords={"model": models, "distance": ("distance", first.spatial["h_km"],
                                              {"units": "km"}),
                "wavenumber": ("wavenumber", first.spatial["k"],
                               {"units": "cycles per grid step"})},
        attrs={"region": region, "season": season, "split": split})
    if tm is not None:
        def stack(key: str, dim: str, n: int) -> np.ndarray:
            return np.stack([r.temporal[key] if r.temporal is not None
                             else np.full(n, np.nan) for r in rs])

        nl, nd = len(tm["lags"]), len(tm["lead"])
        out = out.assign_coords(lag=("lag", tm["lags"], {"units": "days"}),
                                lead=("lead", tm["lead"], {"units": "days"}))
        for key in ("pixel_acf", "acf", "pacf"):
            out[key] = (("model", "lag"), stack(key, "lag", nl))
            out[f"{key}_truth"] = ("lag", tm[f"{key}_truth"])
        for key in ("lead_rmse", "lead_r2"):
            out[key] = (("model", "lead"), stack(key, "lead", nd))
    return out


def read_curves(report: Path, region: str, season: str, split: str = "test"
                ) -> xr.Dataset | None:
    """A report's curves for one area × season on one kind of days (None for a report
    written without them)."""
    path = Path(report) / "curves" / f"{stem(region, season, split)}.nc"
    if not path.exists():
        return None
    with xr.open_dataset(path) as ds:
        return ds.load()


def write_report(results: list[PairResult], out: Path, *, variable: str, settings: dict,
                 overwrite: bool = False, dataset: dict | None = None,
                 scale: str = "log10 AOT", log: bool = True) -> Path:
    """Write metrics.json, metrics.csv, per_day.csv, report.md, meta.json, figures/ and
    curves/ (one NetCDF of every model's curves per area × season, :func:`curves_dataset`).

    ``dataset``: the dataset manifest's ``generator`` block (or other identity), recorded so
    that the dashboard shows a report only next to the data it scored. ``scale``: the label
    of the scale scores are on (e.g. ``log10 DUEXTTAU``); ``log``: log colour scale maps.
    """
    recs = records(results)
    with atomic_dir(Path(out), overwrite=overwrite) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(recs, indent=1))
        (tmp / "meta.json").write_text(json.dumps({"settings": settings, "dataset": dataset},
                                                  indent=1))
        pd.DataFrame(recs).to_csv(tmp / "metrics.csv", index=False, float_format="%.6g")
        days = pd.concat([r.per_day.assign(model=r.model, region=r.region, season=r.season,
                                           split=r.split) for r in results])
        days.to_csv(tmp / "per_day.csv", index=False, float_format="%.6g")
        from finescale.app.rebuild import DAILY, daily_dataset

        daily_dataset(results).to_netcdf(tmp / DAILY, engine="h5netcdf")
        fig_dir = tmp / "figures"
        fig_dir.mkdir()
        pairs = list(dict.fromkeys(r.pair for r in results))
        (tmp / "curves").mkdir()
        for pair in pairs:
            curves_dataset(results, *pair).to_netcdf(tmp / "curves" / f"{stem(*pair)}.nc")
        figs = {p: pair_figures(results, p, stem(*p), fig_dir, variable, scale, log)
                for p in pairs}
        shown = labelled(recs)
        md = ["# finescale evaluation report", "",
              ("Validation days (for choosing settings, not a test score)"
               if settings.get("split") == "val" else "Test days (the paper's random split)") +
              " of each area × season (the first "
              f"{settings.get('days') or 'all'} in date order, one day ahead from the true "
              "history), plus one strict autoregressive roll-out per pair for ACF and lead "
              "curves. Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + ".",
              "", rollout_note(p[2] for p in pairs) if settings.get("rollout", 1) else "", ""]
        for key, title, fmt in TABLES:
            md += [f"## {title.format(scale=scale)}", "", table(shown, key, fmt), ""]
        md += ["## Is the difference real? Diffusion − each model, 95 % interval", "",
               claims_text(recs, settings), "",
               "Pairs where diffusion's claim holds / fails / is undecided:", "",
               claims_summary(shown), "", claims_matrix(shown), "", claims_table(shown), ""]
        md += ["## All scores", "", "See `metrics.csv` (one row per model, area and season) "
               "and `per_day.csv`.", "", "## Figures", ""]
        for (region, season, split), names in figs.items():
            held = " — held out in time (trained without this season-year, a strict " \
                "roll-out through it)" if split == HELDOUT else ""
            md += [f"### {region} {season}{held}", ""]
            md += [f"![{k}]({v})" for k, v in names.items()] + [""]
        (tmp / "report.md").write_text("\n".join(md))
    return Path(out)


def rollout_note(splits) -> str:
    """What the report's roll-outs measure (its groups' splits)."""
    splits = set(splits)
    note = ("The random-day split's roll-outs start at a pair's first test day and run "
            "mostly through training and validation days (random test days cannot hold a "
            "whole window): their ACF, PACF and lead curves show persistence in sample.")
    if HELDOUT in splits:
        note += (" Columns *held out* are models trained without one whole season-year "
                 "(and its pre-season buffer), scored on all of its days and rolled out "
                 "strictly through it: their roll-out curves are out of sample, the test "
                 "a year without fine truth needs.")
    return note


def find_reports(dirs: Sequence[Path], dataset: dict | None
                 ) -> list[tuple[Path, dict, list[dict]]]:
    """Every test-day report under ``dirs`` that scored this dataset (by its recorded
    identity), as (directory, settings, records), in the order of ``dirs``. Validation-day
    reports (``--split val``) are for choosing settings and are left out."""
    want = generator_identity(dataset)
    out = []
    for d in dirs:
        meta, metrics = Path(d) / "meta.json", Path(d) / "metrics.json"
        try:
            m = json.loads(meta.read_text())
            test = m.get("settings", {}).get("split", "test") == "test"
            if test and want is not None and generator_identity(m.get("dataset")) == want:
                out.append((Path(d), m.get("settings", {}), json.loads(metrics.read_text())))
        except (OSError, ValueError):
            continue
    return out


def sampler_label(settings: dict) -> str:
    """How a report's diffusion models sampled (reports from before ``windows`` existed
    sampled on the whole map; windowed ones from before ``window_overlap`` overlapped by a
    quarter of a core; reports from before ``solver`` used Heun; reports from before
    ``noise_rho`` drew each day's noise independently)."""
    if not settings.get("windows", False):
        label = "whole map"
    else:
        overlap = settings.get("window_overlap", 0.25)
        label = "windows" if overlap == 0 else f"windows, overlap {overlap:g}"
    steps = settings.get("steps")
    rho = settings.get("noise_rho", 0)  # absent: independent days; None: each model's own
    noise = "" if rho == 0 else " · noise memory" if rho is None else f" · noise ρ {rho:g}"
    return f"{label} · {settings.get('solver', 'heun')}" + (f" {steps}" if steps else "") + noise
