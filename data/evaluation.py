"""Score a generated ensemble (finescale's NetCDF layout) against its fine truth.

Works on any file in that layout — ``VAR(member, time, lat, lon)``, ``VAR_truth(time, lat,
lon)`` and optionally ``VAR_coarse`` — so users' own runs score the same way as ours.
Scores are on the analysis scale of the data's transform — log10 for positive skewed fields
such as AOT, where the paper scores; the variable itself otherwise
(:func:`finescale.data.transforms.analysis`; ``kind``, the file's ``transform`` attribute)
— unless prefixed ``phys_``. The ensemble mean is taken on that scale; a single member is
a deterministic forecast (no CRPS, spread–skill or rank histogram).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data import scores, skill
from finescale.data.diagnostics import (
    acf,
    curve_error,
    fit_spherical,
    lag_scores,
    nanmean_curves,
    pacf,
    pixel_acf,
    radial_spectrum,
    semivariogram,
)
from finescale.data.errors import FinescaleError
from finescale.data.transforms import analysis, from_analysis


@dataclass(frozen=True)
class CurveConfig:
    """Settings of the spatial and temporal curves (defaults follow the issue/paper)."""

    max_km: float = 600.0
    bins: int = 24
    pairs: int = 30_000
    spectrum_bins: int = 32
    nlags: int = 30
    seed: int = 0


def check_generated(gen: xr.Dataset, variable: str, *, name: str = "generated file",
                    truth: xr.DataArray | None = None) -> tuple[xr.DataArray, xr.DataArray]:
    """The generated and truth arrays, or a :class:`FinescaleError` naming what is wrong.

    ``truth`` (optional) is an external reference, e.g. the dataset's fine record: the file's
    grid and period must then lie on it.
    """
    if variable not in gen:
        raise FinescaleError(f"{name}: no variable {variable!r} (has {', '.join(gen.data_vars)})")
    g = gen[variable]
    if set(g.dims) != {"member", "time", "lat", "lon"}:
        raise FinescaleError(f"{name}: {variable} has dims {g.dims}; expected "
                             "(member, time, lat, lon)")
    g = g.transpose("member", "time", "lat", "lon")
    if g.sizes["member"] < 1 or g.sizes["time"] < 1:
        raise FinescaleError(f"{name}: {variable} has no members or no days "
                             f"(member={g.sizes['member']}, time={g.sizes['time']})")
    bad = ~np.isfinite(g.values)
    if bad.any():
        m, t = np.argwhere(bad)[0][:2]
        raise FinescaleError(f"{name}: {variable} has {int(bad.sum())} NaN/inf values "
                             f"(first: member {int(g.member[m])}, "
                             f"{pd.Timestamp(g.time.values[t]):%Y-%m-%d})")
    if truth is None:
        if f"{variable}_truth" not in gen:
            raise FinescaleError(f"{name}: no {variable}_truth variable to score against")
        t = gen[f"{variable}_truth"]
    else:
        for c in ("lat", "lon"):
            if g.sizes[c] != truth.sizes[c] or not np.allclose(g[c].values, truth[c].values,
                                                                atol=1e-4):
                raise FinescaleError(f"{name}: its {c} grid ({g.sizes[c]} points, "
                                     f"{float(g[c][0]):.3f}..{float(g[c][-1]):.3f}) does not "
                                     f"match the truth's ({truth.sizes[c]} points, "
                                     f"{float(truth[c][0]):.3f}..{float(truth[c][-1]):.3f})")
        missing = pd.DatetimeIndex(g.time.values).difference(
            pd.DatetimeIndex(truth.time.values))
        if missing.size:
            raise FinescaleError(f"{name}: {missing.size} day(s) outside the truth's period "
                                 f"(first {missing[0]:%Y-%m-%d}); the truth covers "
                                 f"{pd.Timestamp(truth.time.values[0]):%Y-%m-%d} .. "
                                 f"{pd.Timestamp(truth.time.values[-1]):%Y-%m-%d}")
        t = truth.sel(time=g.time.values)
    t = t.transpose("time", "lat", "lon")
    if t.shape != g.shape[1:]:
        raise FinescaleError(f"{name}: truth shape {t.shape} differs from generated "
                             f"{g.shape[1:]} (time, lat, lon)")
    no_truth = ~np.isfinite(t.values).any(axis=(1, 2))
    if no_truth.all():
        raise FinescaleError(f"{name}: no fine truth exists for any of its "
                             f"{t.sizes['time']} day(s); nothing to score")
    keep = ~no_truth
    return g.isel(time=keep), t.isel(time=keep)


def scaled(transform: str, x: xr.DataArray) -> xr.DataArray:
    """``x`` on the analysis scale, in float64 (float32 fields would round pooled sums)."""
    return analysis(transform, x.astype(np.float64))


def ensemble_mean(lg: xr.DataArray) -> xr.DataArray:
    """The ensemble mean of members already on the analysis scale (so for log data the mean
    of the members' log10, not the log10 of their mean): what every R² and RMSE scores."""
    return lg.mean("member")


def mean_field(gen: xr.DataArray, transform: str = "log") -> xr.DataArray:
    """The ensemble mean that the scores score, back on the variable's scale (for log data
    the geometric mean of the members): what a map of "the ensemble mean" shows."""
    mean = ensemble_mean(scaled(transform, gen))
    return from_analysis(transform, mean).astype(gen.dtype).assign_attrs(gen.attrs)


def mean_scores(gen: xr.DataArray, truth: xr.DataArray, transform: str = "log") -> dict[str, float]:
    """R² (squared Pearson) and RMSE of the ensemble mean: the dashboard's quick scores,
    the same numbers as :func:`pointwise`'s."""
    mean, lt = ensemble_mean(scaled(transform, gen)), scaled(transform, truth)
    return {"r2": float(skill.r2(mean, lt)), "rmse": float(skill.rmse(mean, lt))}


def pointwise(gen: xr.DataArray, truth: xr.DataArray, transform: str = "log"
              ) -> dict[str, float | None]:
    """All deterministic and ensemble scores, pooled over days and pixels."""
    lg, lt = scaled(transform, gen), scaled(transform, truth)
    mean = ensemble_mean(lg)
    pmean = gen.astype(np.float64).mean("member")
    m = gen.sizes["member"]
    out: dict[str, float | None] = {k: float(f(mean, lt)) for k, f in skill.DETERMINISTIC.items()}
    out |= {f"phys_{k}": float(skill.DETERMINISTIC[k](pmean, truth))
            for k in ("r2", "rmse", "mae", "bias")}
    out |= {"members": m, "days": gen.sizes["time"]}
    ens = m > 1
    out["crps"] = float(skill.crps(lg, lt)) if ens else None
    # fair to ensemble size (data.scores): the CRPS of the members' distribution and the
    # ensemble mean's R² as with infinitely many members; undefined for one member
    inf = scores.ensemble_mean_inf(lg.values, lt.values) if ens else {}
    out["crps_fair"] = float(scores.crps_fair(lg.values, lt.values)) if ens else None
    out["r2_inf"] = inf.get("r2_inf")
    out["spread"] = float(skill.spread(lg)) if ens else None
    out["spread_skill"] = float(skill.spread_skill(lg, lt)) if ens else None
    return out


def per_day(gen: xr.DataArray, truth: xr.DataArray, transform: str = "log") -> pd.DataFrame:
    """For each day (analysis scale): R², RMSE and bias of the ensemble mean, and the CRPS
    and spread of the members (a single member: its MAE and 0)."""
    lg, lt = scaled(transform, gen), scaled(transform, truth)
    mean = ensemble_mean(lg)
    space = ("lat", "lon")
    out = xr.Dataset({k: skill.DETERMINISTIC[k](mean, lt, dim=space)
                      for k in ("r2", "rmse", "bias")})
    out["crps"] = skill.crps(lg, lt, dim=space)
    out["spread"] = skill.spread(lg, dim=space)
    return out.to_dataframe().reset_index()[["time", "r2", "rmse", "bias", "crps", "spread"]]


def spatial(gen: xr.DataArray, truth: xr.DataArray, cfg: CurveConfig | None = None,
            transform: str = "log") -> dict[str, np.ndarray | dict]:
    """Mean semivariograms and spectra of members and truth (log10), with their errors.

    Curves are averaged over days (and members): a member, not the smooth ensemble mean,
    is what must keep the truth's spatial variability.
    """
    cfg = cfg or CurveConfig()
    lat, lon = gen.lat.values, gen.lon.values
    lg, lt = analysis(transform, gen.values), analysis(transform, truth.values)

    def vario(f: np.ndarray, k: int) -> np.ndarray:
        return semivariogram(f, lat, lon, max_km=cfg.max_km, bins=cfg.bins, pairs=cfg.pairs,
                             seed=cfg.seed + k)[1]

    edges = np.linspace(0, cfg.max_km, cfg.bins + 1)
    h = 0.5 * (edges[1:] + edges[:-1])
    # per day: the truth's curve and the mean of the members' (what a bootstrap resamples)
    gt_days = np.array([vario(lt[k], k) for k in range(lt.shape[0])])
    gg_days = np.array([nanmean_curves([vario(lg[m, k], k) for m in range(lg.shape[0])])
                        for k in range(lt.shape[0])])
    gt, gg = nanmean_curves(gt_days), nanmean_curves(gg_days)
    kk = radial_spectrum(lt[0], cfg.spectrum_bins)[0]
    st = nanmean_curves([radial_spectrum(f, cfg.spectrum_bins)[1] for f in lt])
    sg = nanmean_curves([radial_spectrum(f, cfg.spectrum_bins)[1] for f in lg.reshape(
        -1, *lg.shape[2:])])
    return {"h_km": h, "gamma_truth": gt, "gamma": gg,
            "gamma_days": gg_days, "gamma_truth_days": gt_days,
            "fit_truth": fit_spherical(h, gt), "fit": fit_spherical(h, gg),
            "variogram_error": curve_error(gg, gt),
            "k": kk, "power_truth": st, "power": sg,
            "spectrum_error": curve_error(np.log10(sg[1:]), np.log10(st[1:]))}


def temporal(rollout: xr.DataArray, truth: xr.DataArray, cfg: CurveConfig | None = None,
             transform: str = "log") -> dict[str, np.ndarray | float]:
    """ACF/PACF and lag curves of one contiguous autoregressive roll-out (log10).

    ``rollout`` (member, time, lat, lon) starts the day after the last true history day.
    ACF/PACF of the area-mean series (ensemble mean of members' ACFs) and the pixel-averaged
    ACF; ``acf_error`` compares pixel ACFs of members and truth over lags 1..n.
    """
    cfg = cfg or CurveConfig()
    lg, lt = analysis(transform, rollout.values), analysis(transform, truth.values)
    n = lt.shape[0]
    if n < 3:
        raise FinescaleError(f"a roll-out of {n} day(s) is too short for ACFs (need >= 3)")
    nl = min(cfg.nlags, n - 2)
    pg = np.mean([pixel_acf(lg[m], nl) for m in range(lg.shape[0])], axis=0)
    pt = pixel_acf(lt, nl)
    area_g = lg.mean(axis=(2, 3))
    area_t = lt.mean(axis=(1, 2))
    lags = lag_scores(lg.mean(axis=0)[None], lt[None])
    return {"lags": np.arange(nl + 1), "pixel_acf": pg, "pixel_acf_truth": pt,
            "acf": np.mean([acf(a, nl) for a in area_g], axis=0), "acf_truth": acf(area_t, nl),
            "pacf": np.mean([pacf(a, nl) for a in area_g], axis=0),
            "pacf_truth": pacf(area_t, nl),
            "acf_error": curve_error(pg[1:], pt[1:]),
            "lead": lags["lag"], "lead_rmse": lags["rmse"], "lead_r2": lags["r2"]}


def rank_counts(gen: xr.DataArray, truth: xr.DataArray, seed: int = 0, transform: str = "log"
                ) -> np.ndarray | None:
    """Rank histogram of the truth among members (log10), or None for one member."""
    if gen.sizes["member"] < 2:
        return None
    return scores.rank_histogram(analysis(transform, gen.values), analysis(transform, truth.values),
                                 seed=seed)


def generated_variable(gen: xr.Dataset) -> str:
    """The generated variable of a file in finescale's layout (the one with a member dim)."""
    names = [str(n) for n, v in gen.data_vars.items() if "member" in v.dims]
    if len(names) != 1:
        raise FinescaleError(f"expected one variable with a 'member' dimension, found "
                             f"{names or 'none'}")
    return names[0]


def score(gen: xr.Dataset, truth: xr.DataArray | None = None, variable: str | None = None,
          cfg: CurveConfig | None = None) -> dict[str, float | None]:
    """Pooled scores and the variogram / spectrum errors of a generated file in one record,
    on the analysis scale of its ``transform`` attribute."""
    var = variable or generated_variable(gen)
    g, t = check_generated(gen, var, truth=truth)
    kind = str(gen.attrs.get("transform", "log"))
    sp = spatial(g, t, cfg, kind)
    return {**pointwise(g, t, kind), "variogram_error": sp["variogram_error"],
            "spectrum_error": sp["spectrum_error"], "scale": kind}


def lead_skill(rollout: xr.Dataset, variable: str) -> dict[str, np.ndarray] | None:
    """RMSE of a roll-out's ensemble mean by lead day on the analysis scale, over its leading
    days that have fine truth (None without any)."""
    truth = rollout[f"{variable}_truth"].values
    ok = np.isfinite(truth).all(axis=(1, 2))
    if not ok.any() or not ok[0]:
        return None
    n = int(ok.argmin()) if not ok.all() else ok.size
    kind = str(rollout.attrs.get("transform", "log"))
    mean = analysis(kind, rollout[variable].values[:, :n]).mean(axis=0)
    ls = lag_scores(mean[None], analysis(kind, truth[:n])[None])
    return {"lead": ls["lag"], "rmse": ls["rmse"]}
