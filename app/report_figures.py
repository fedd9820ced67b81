"""The report's PNG figures (matplotlib, off-screen): per area × season, every model's
curves beside the truth's and the example day's maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from finescale.data.diagnostics import grid_step_km
from finescale.model.evaluation import PairResult

FIGURES = ("maps", "variogram", "spectrum", "acf", "lead", "rank")


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


def pair_figures(results: list[PairResult], pair: tuple[str, str, str], name: str,
                 fig_dir: Path, variable: str, scale: str, log: bool) -> dict[str, str]:
    """One pair's figures, written as ``fig_dir/{name}-{figure}.png``; their paths relative
    to the report."""
    rs = [r for r in results if r.pair == pair]
    names = {k: f"figures/{name}-{k}.png" for k in FIGURES}
    for key, draw in _CURVE_FIGURES.items():
        _fig(fig_dir / Path(names[key]).name, lambda ax, draw=draw: draw(ax, rs, name, scale))
    _example_maps(rs, fig_dir / Path(names["maps"]).name, name, variable, log)
    return names
