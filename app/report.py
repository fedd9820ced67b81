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

from finescale.data.bootstrap import NOT_CLAIMS
from finescale.data.diagnostics import grid_step_km
from finescale.data.layout import atomic_dir, generator_identity
from finescale.data.seasons import SEASONS
from finescale.data.splits import HELDOUT
from finescale.model.evaluation import PairResult

KEYS = ("model", "region", "season", "r2", "rmse", "mae", "nse", "kge", "crps", "spread_skill",
        "variogram_error", "acf_error", "spectrum_error")
FIGURES = ("maps", "variogram", "spectrum", "acf", "lead", "rank")
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


# (score, title, format). The verdicts that decide the claims (data.bootstrap.VERDICTS):
# fair to ensemble size and to forecast type; the N-member scores stay beside them
CLAIMS = (("r2_inf", "R² (∞ members)", "{:+.3f}"),
          ("crps_prob", "CRPS (ensemble: fair; deterministic: dressed)", "{:+.4f}"),
          ("variogram_error", "variogram error", "{:+.3f}"))
BESIDE = (("r2", "R² (N members)", "{:+.3f}"),
          ("crps", "CRPS (N members; deterministic: MAE)", "{:+.4f}"),
          ("mae", "MAE (ensemble mean)", "{:+.4f}"))
# reports from before the fair estimates: their claims were N-member R², CRPS against MAE
OLD_CLAIMS = (("r2", "R²", "{:+.3f}"), ("crps", "CRPS (MAE if deterministic)", "{:+.4f}"),
              ("variogram_error", "variogram error", "{:+.3f}"))
VERDICT_WORDS = ("holds", "fails", "undecided")


def claims_of(recs: list[dict]) -> tuple:
    """The claims a report's rows carry: the fair ones, or an older report's."""
    return CLAIMS if any(r.get("r2_inf_vs_diffusion_claim") for r in recs) else OLD_CLAIMS


def _claim_rows(recs: list[dict]) -> list[dict]:
    return [r for r in recs if r.get("r2_vs_diffusion_claim") and r["model"] not in NOT_CLAIMS]


def claim_cell(rec: dict, key: str, fmt: str, verdict: bool = True) -> str | None:
    """``diffusion − model [low, high]`` of ``key`` on a report row (and its verdict, with
    the Holm-adjusted one where it differs); None where the row has no such interval."""
    d, lo, hi = (rec.get(f"{key}_vs_diffusion{x}") for x in ("", "_ci_low", "_ci_high"))
    if d is None or lo is None or hi is None:
        return None
    cell = f"{fmt.format(d)} [{fmt.format(lo)}, {fmt.format(hi)}]"
    return f"{cell} {verdict_text(rec, key)}" if verdict else cell


def verdict_text(rec: dict, key: str) -> str:
    """The raw verdict, and the Holm-adjusted one in brackets where it differs."""
    raw = rec.get(f"{key}_vs_diffusion_claim") or "—"
    holm = rec.get(f"{key}_vs_diffusion_claim_holm")
    return raw if holm is None or holm == raw else f"{raw} (Holm: {holm})"


def claims_text(recs: list[dict], settings: dict) -> str:
    """How the intervals and verdicts were made, for report.md."""
    blocks = sorted({r["boot_block"] for r in recs if r.get("boot_block")})
    tests = sum(1 for r in recs for k, _, _ in CLAIMS if f"{k}_vs_diffusion_p_holm" in r)
    text = (f"Paired bootstrap over the scored days ({settings.get('boot', 0)} resamples; both "
            "models resampled with the same days; members not resampled"
            + (f"; moving blocks of {', '.join(map(str, blocks))} adjacent scored days"
               if blocks and blocks != [1] else "") + "). A claim *holds* when the whole "
            "interval favours diffusion (higher R², lower CRPS and variogram error), *fails* "
            "when it favours the other model, and is *undecided* when it spans 0.")
    if claims_of(recs) is CLAIMS:
        text += (" The claims are judged fair to ensemble size and forecast type: R² of the "
                 "ensemble mean with infinitely many members (the members' noise term "
                 "removed), CRPS of forecast distributions (the fair estimator for ensembles, "
                 "deterministic models dressed with their validation-day errors); the "
                 "N-member R², the CRPS against a point forecast's MAE and the ensemble "
                 "mean's MAE stay beside them.")
    if tests:
        text += (f" The report makes {tests} such comparisons; the Holm-adjusted verdict "
                 "(family-wise error 5 %) is given where it differs from the raw one, and "
                 "the matrix shows the adjusted verdicts.")
    return text


def claims_table(recs: list[dict]) -> str:
    """Markdown: for every model but diffusion, diffusion − model with its 95 % paired
    bootstrap interval and the verdict of the paper's claim (diffusion is better); the
    N-member scores beside, as intervals."""
    rows = _claim_rows(recs)
    if not rows:
        return "No intervals (no diffusion model, or `--boot 0`)."
    claims = claims_of(rows)
    beside = [b for b in BESIDE if claims is CLAIMS]
    head = ["area", "season", "model", *[t for _, t, _ in claims], *[t for _, t, _ in beside]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [claim_cell(r, k, fmt) or "—" for k, _, fmt in claims]
        cells += [claim_cell(r, k, fmt, verdict=False) or "—" for k, _, fmt in beside]
        lines.append(f"| {r['region']} | {r['season']} | {r['model']} | " + " | ".join(cells)
                     + " |")
    return "\n".join(lines)


def _counts(values) -> str:
    c = pd.Series(list(values)).value_counts()
    return " / ".join(f"{int(c.get(v, 0))}" for v in VERDICT_WORDS)


def claims_summary(recs: list[dict]) -> str:
    """Markdown: per model and score, in how many pairs the claim holds / fails / is
    undecided (and after Holm's adjustment, where the report has it)."""
    df = pd.DataFrame(_claim_rows(recs))
    if df.empty:
        return ""
    claims = claims_of(df.to_dict("records"))
    lines = ["| model | " + " | ".join(t for _, t, _ in claims) + " |",
             "|---|" + "---|" * len(claims)]
    for m, g in df.groupby("model", sort=False):
        cells = []
        for k, _, _ in claims:
            cell = _counts(g[f"{k}_vs_diffusion_claim"])
            if f"{k}_vs_diffusion_claim_holm" in g:
                cell += f" (Holm: {_counts(g[f'{k}_vs_diffusion_claim_holm'])})"
            cells.append(cell)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _season_order(label: str) -> tuple[int, str]:
    base = label.split(" ")[0]
    return (SEASONS.index(base) if base in SEASONS else len(SEASONS), label)


def report_pairs(recs: list[dict]) -> list[tuple[str, str]]:
    """The (region, season) pairs of a report's records (seasons as the rows carry them:
    :func:`labelled` rows put a season held out in time after its random-day one), by
    region, then in season order."""
    return sorted({(r["region"], r["season"]) for r in recs},
                  key=lambda p: (p[0], *_season_order(p[1])))


def claims_matrix(recs: list[dict]) -> str:
    """Markdown: one row per model, one column per area × season, each cell the three
    verdicts of the claims — every claim of the report at a glance (Holm-adjusted)."""
    rows = _claim_rows(recs)
    if not rows:
        return ""
    claims = claims_of(rows)
    df, pairs = pd.DataFrame(rows), report_pairs(rows)
    lines = ["| diffusion − | " + " | ".join(f"{r} {s}" for r, s in pairs) + " |",
             "|---|" + "---|" * len(pairs)]
    for m, g in df.groupby("model", sort=False):
        by = {(r["region"], r["season"]): r for r in g.to_dict("records")}
        cells = [" · ".join(_verdict(by[p], k) for k, _, _ in claims) if p in by else "—"
                 for p in pairs]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def adjusted_verdict(rec: dict, key: str) -> str:
    """A row's verdict of ``key``: Holm-adjusted where the report has it, else the raw one."""
    return (rec.get(f"{key}_vs_diffusion_claim_holm") or rec.get(f"{key}_vs_diffusion_claim")
            or "—")


def _verdict(rec: dict, key: str) -> str:
    v = adjusted_verdict(rec, key)
    return f"**{v}**" if v == "fails" else v


def _fig(path: Path, draw) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    draw(ax)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # a group without ensembles has no rank histogram
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _variogram_figure(ax, rs: list[PairResult], stem: str, scale: str) -> None:
    first = rs[0]
    ax.plot(first.spatial["h_km"], first.spatial["gamma_truth"], "k-", lw=2, label="truth")
    for r in rs:
        ax.plot(r.spatial["h_km"], r.spatial["gamma"], label=r.model)
    ax.set(xlabel="distance (km)", ylabel=f"γ ({scale})²", title=f"semivariogram {stem}")


def _spectrum_figure(ax, rs: list[PairResult], stem: str, scale: str) -> None:
    """Per km, as the dashboard shows it."""
    from matplotlib.ticker import NullFormatter

    from finescale.app.figures import log_ticks

    first = rs[0]
    k = first.spatial["k"] / grid_step_km(first.example["lat"].values)
    ax.loglog(k[1:], first.spatial["power_truth"][1:], "k-", lw=2, label="truth")
    for r in rs:
        ax.loglog(k[1:], r.spatial["power"][1:], label=r.model)
    ax.set(xlabel="wavenumber (1/km)", ylabel="power", title=f"radial spectrum {stem}")
    ticks = log_ticks(k[1:])
    if ticks:  # matplotlib labels the minor ticks of a short log axis into each other
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())


def _acf_figure(ax, rs: list[PairResult], stem: str, scale: str) -> None:
    tm = [r for r in rs if r.temporal is not None]
    if tm:
        ax.plot(tm[0].temporal["lags"], tm[0].temporal["pixel_acf_truth"], "k-", lw=2,
                label="truth ACF")
        ax.plot(tm[0].temporal["lags"], tm[0].temporal["pacf_truth"], "k:", lw=2,
                label="truth PACF (area mean)")
    for r in tm:
        (line,) = ax.plot(r.temporal["lags"], r.temporal["pixel_acf"], label=f"{r.model} ACF")
        ax.plot(r.temporal["lags"], r.temporal["pacf"], ":", color=line.get_color())
    ax.set(xlabel="lag (days)", ylabel="correlation",
           title=f"pixel ACF and area-mean PACF, roll-out {stem}")


def _lead_figure(ax, rs: list[PairResult], stem: str, scale: str) -> None:
    for r in rs:
        if r.temporal is not None:
            ax.plot(r.temporal["lead"], r.temporal["lead_rmse"], "o-", label=r.model)
    ax.set(xlabel="lead (days after the last true history day)", ylabel=f"RMSE ({scale})",
           title=f"autoregressive roll-out skill {stem}")


def _rank_figure(ax, rs: list[PairResult], stem: str, scale: str) -> None:
    for r in rs:
        if r.rank is not None:
            c = np.asarray(r.rank, dtype=float)
            ax.step(np.arange(c.size), c / c.sum(), where="mid", label=r.model)
    if any(r.rank is not None for r in rs):
        m = next(len(r.rank) for r in rs if r.rank is not None)
        ax.axhline(1 / m, color="k", ls="--", lw=1, label="flat (reliable)")
    ax.set(xlabel="rank of truth among members", ylabel="frequency",
           title=f"rank histogram {stem}")


_CURVE_FIGURES = {"variogram": _variogram_figure, "spectrum": _spectrum_figure,
                  "acf": _acf_figure, "lead": _lead_figure, "rank": _rank_figure}


def _example_maps(rs: list[PairResult], path: Path, stem: str, variable: str,
                  log: bool) -> None:
    """The example day's maps of diffusion (else the first model): coarse | member 0 |
    truth | spread."""
    from finescale.app.figures import maps_png

    best = next((r for r in rs if r.model == "diffusion"), rs[0])
    ex = best.example
    gen = ex[variable].isel(time=0)
    fields = {"coarse": ex[f"{variable}_coarse"].isel(time=0).rename(
                  lat_coarse="lat", lon_coarse="lon"),
              "generated": gen.isel(member=0), "truth": ex[f"{variable}_truth"].isel(time=0),
              "spread": gen.std("member") if gen.sizes["member"] > 1 else None}
    day = pd.Timestamp(ex.time.values[0])
    path.write_bytes(maps_png(fields, f"{best.model} {stem} {day:%Y-%m-%d} (member 0)",
                              log=log, label=variable))


def _figures(results: list[PairResult], pair: tuple[str, str, str], fig_dir: Path,
             variable: str, scale: str, log: bool) -> dict[str, str]:
    rs = [r for r in results if r.pair == pair]
    name = stem(*pair)
    names = {k: f"figures/{name}-{k}.png" for k in FIGURES}
    for key, draw in _CURVE_FIGURES.items():
        _fig(fig_dir / Path(names[key]).name, lambda ax, draw=draw: draw(ax, rs, name, scale))
    _example_maps(rs, fig_dir / Path(names["maps"]).name, name, variable, log)
    return names


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
        figs = {p: _figures(results, p, fig_dir, variable, scale, log) for p in pairs}
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
