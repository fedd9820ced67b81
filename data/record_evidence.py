"""Evidence for the years without truth: per-year statistics of a reconstruction store.

A record runs far outside the fine truth's years, where no score can be computed. What can
be checked there is whether the members behave as they do where the truth exists:

- **coarse consistency**: each generated day averaged back onto the coarse grid (physical
  units, the fine points whose nearest coarse centre is that cell, cells fully covered by
  the fine grid only) against the coarse input — pooled R² (``coarse_r2``) and mean
  difference (``coarse_bias``) on the analysis scale; the truth's own consistency in its
  years is the reference row (``source: "truth"``);
- **stationarity**: domain mean, member spread, short-lag semivariance (half the mean
  squared difference of grid neighbours, both axes), lag-1 autocorrelation (each pixel's
  day-to-day correlation within each block of days, its block mean removed, averaged),
  1st/99th percentiles and the share of
  values at the model's clip (``mean``, ``spread``, ``semivariance_short``, ``lag1``,
  ``p01``, ``p99``, ``clipped``);
- **scores** where the truth exists (``r2``, ``crps``);
- a **flag**: a year whose statistics leave, in some season, the envelope of that season
  in the truth's years (see :func:`flag_rows`), with the reason.

Every year is read one segment-sized block of days at a time, so memory does not grow with
the record (sums are pooled across blocks; the percentiles use every 4th grid point).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import t as student_t

from finescale.data import scores
from finescale.data.errors import FinescaleError
from finescale.data.record import settings_of
from finescale.data.regrid import coarse_cells, to_coarse
from finescale.data.transforms import analysis

CLIP_ATTR = "finescale_clip"  # {season: [low, high]} physical values the model clips to
PERCENTILE_STRIDE = 4  # every 4th grid point in each direction feeds the percentiles
STATS = ("coarse_r2", "coarse_bias", "mean", "spread", "semivariance_short", "lag1", "p01",
         "p99", "clipped")


@dataclass
class TruthScores:
    """The members against the truth, pooled over blocks: R² of the ensemble mean, CRPS."""

    pearson: scores.PooledPearson = field(default_factory=scores.PooledPearson)
    crps_sum: float = 0.0
    crps_n: float = 0.0
    days: int = 0

    def add(self, z: np.ndarray, truth: np.ndarray) -> None:
        """``z`` (member, day, lat, lon) and ``truth`` (day, lat, lon), analysis values."""
        if not (z.shape[0] and np.isfinite(truth).any()):
            return
        self.pearson.add(z.mean(axis=0), truth)
        have = np.isfinite(truth).all(axis=(-2, -1))
        self.days += int(have.sum())
        if have.any():
            c = scores.crps(z[:, have], truth[have])
            n = np.isfinite(z[:, have]).all(axis=0).sum()
            self.crps_sum += c * n
            self.crps_n += n

    def r2(self) -> float:
        return self.pearson.r2() if self.pearson.n else float("nan")

    def crps(self) -> float:
        return self.crps_sum / self.crps_n if self.crps_n else float("nan")


@dataclass
class Pooled:
    """Sums over blocks of days, turned into one year's statistics at the end."""

    n: float = 0.0
    total: float = 0.0
    var_sum: float = 0.0  # Σ ensemble variance (spread² × points)
    var_n: float = 0.0
    semi_sum: float = 0.0
    semi_n: float = 0.0
    clipped: float = 0.0
    sample: list = field(default_factory=list)  # analysis values for the percentiles
    coarse_sample: list = field(default_factory=list)  # the coarse input's, likewise
    coarse: scores.PooledPearson = field(default_factory=scores.PooledPearson)
    coarse_diff: float = 0.0
    truth: TruthScores = field(default_factory=TruthScores)
    test: TruthScores = field(default_factory=TruthScores)  # on the models' test days only
    lag_sum: float = 0.0
    lag_n: int = 0
    coarse_lag_sum: float = 0.0
    coarse_lag_n: int = 0


def lag_one(z: np.ndarray) -> tuple[float, int]:
    """(mean lag-1 correlation, pairs per pixel) of each pixel's consecutive days within one
    block of (member, day, lat, lon) values, each pixel's block mean removed (a block is at
    most a segment, so the seasonal cycle does not enter); NaN-aware."""
    if z.shape[1] < 3:
        return float("nan"), 0
    a, b = z[:, :-1], z[:, 1:]
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(1)
    a, b = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        nn = np.where(n > 2, n, np.nan)
        ma, mb = a.sum(1) / nn, b.sum(1) / nn
        da, db = np.where(ok, a - ma[:, None], 0), np.where(ok, b - mb[:, None], 0)
        r = (da * db).sum(1) / np.sqrt((da**2).sum(1) * (db**2).sum(1))
    r = r[np.isfinite(r)]
    return (float(r.mean()), int(z.shape[1] - 1)) if r.size else (float("nan"), 0)


def semivariance_short(z: np.ndarray) -> tuple[float, int]:
    """(Σ ½(z(x) − z(x+1))², count) over grid neighbours along both axes of (…, lat, lon)."""
    d = np.concatenate([(np.diff(z, axis=-1) ** 2).ravel(), (np.diff(z, axis=-2) ** 2).ravel()])
    d = d[np.isfinite(d)]
    return 0.5 * float(d.sum()), int(d.size)


def _add(p: Pooled, z: np.ndarray, coarse_z: np.ndarray, coarse_in: np.ndarray,
         clip: tuple[float, float] | None, truth: np.ndarray | None) -> None:
    """One block: ``z`` (member, day, lat, lon) analysis values; ``coarse_z`` the members
    averaged onto the coarse grid and ``coarse_in`` the input, both analysis values."""
    ok = np.isfinite(z)
    p.n += ok.sum()
    p.total += z[ok].sum()
    if z.shape[0] > 1:
        n = np.isfinite(z).all(axis=0).sum()
        p.var_sum += scores.spread(z) ** 2 * n
        p.var_n += n
    s, n = semivariance_short(z)
    p.semi_sum += s
    p.semi_n += n
    if clip is not None:
        tol = 1e-4 * max(1.0, abs(clip[1] - clip[0]))
        p.clipped += ((np.abs(z - clip[0]) <= tol) | (np.abs(z - clip[1]) <= tol)).sum()
    sub = z[..., ::PERCENTILE_STRIDE, ::PERCENTILE_STRIDE]
    p.sample.append(sub[np.isfinite(sub)].astype(np.float32))
    c_in = np.broadcast_to(coarse_in, coarse_z.shape)
    p.coarse_sample.append(coarse_in[np.isfinite(coarse_in)].astype(np.float32))
    p.coarse.add(coarse_z, c_in)
    both = np.isfinite(coarse_z) & np.isfinite(c_in)
    p.coarse_diff += float((coarse_z - c_in)[both].sum())
    r, n = lag_one(z)
    if n:
        p.lag_sum += r * n
        p.lag_n += n
    r, n = lag_one(np.asarray(coarse_in)[None])
    if n:
        p.coarse_lag_sum += r * n
        p.coarse_lag_n += n
    if truth is not None:
        p.truth.add(z, truth)


def _finish(p: Pooled, clip: bool) -> dict:
    sample = np.concatenate(p.sample) if p.sample else np.array([np.nan])
    cs = np.concatenate(p.coarse_sample) if p.coarse_sample else np.array([np.nan])
    nan = float("nan")
    return {
        "coarse_r2": p.coarse.r2(),
        "coarse_bias": p.coarse_diff / p.coarse.n if p.coarse.n else nan,
        "mean": p.total / p.n if p.n else nan,
        "spread": float(np.sqrt(p.var_sum / p.var_n)) if p.var_n else nan,
        "semivariance_short": p.semi_sum / p.semi_n if p.semi_n else nan,
        "lag1": p.lag_sum / p.lag_n if p.lag_n else nan,
        "p01": float(np.nanpercentile(sample, 1)) if sample.size else nan,
        "p99": float(np.nanpercentile(sample, 99)) if sample.size else nan,
        "clipped": p.clipped / p.n if clip and p.n else nan,
        "r2": p.truth.r2(),
        "crps": p.truth.crps(),
        "coarse_mean": float(np.nanmean(cs)) if cs.size else nan,
        "coarse_lag1": p.coarse_lag_sum / p.coarse_lag_n if p.coarse_lag_n else nan,
        "coarse_p01": float(np.nanpercentile(cs, 1)) if cs.size else nan,
        "coarse_p99": float(np.nanpercentile(cs, 99)) if cs.size else nan,
    }


def _clip_values(rec: xr.Dataset, var: str, transform: str) -> dict[str, tuple[float, float]]:
    raw = rec[var].attrs.get(CLIP_ATTR)
    if not raw:
        return {}
    return {s: tuple(float(analysis(transform, np.float64(v))) for v in lo_hi)
            for s, lo_hi in json.loads(raw).items()}


def _runs(days: pd.DatetimeIndex, size: int) -> Iterator[pd.DatetimeIndex]:
    """Consecutive days, cut at gaps and into pieces of at most ``size`` days (day pairs
    never span a gap)."""
    if days.size == 0:
        return
    cuts = np.flatnonzero(np.diff(days.values) != np.timedelta64(1, "D")) + 1
    for run in np.split(np.arange(days.size), cuts):
        # nearly equal pieces of at most ``size`` days: no 1-day remainder
        for piece in np.array_split(run, -(-run.size // size)):
            yield days[piece]


def year_rows(rec: xr.Dataset, progress: Callable[[str], None] | None = None,
              test_days: pd.DatetimeIndex | None = None) -> list[dict]:
    """Rows per year (``season: "all"``) and per year × season, for the generated members
    (``source: "generated"``) and, where it exists, the fine truth (``source: "truth"``),
    each generated row flagged (:func:`flag_rows`).

    ``test_days``: the days the record's models were never trained or validated on (their
    split's test days); generated rows then also score the members on those truth days
    alone (``r2_test``, ``crps_test``, ``test_days``), beside ``r2``/``crps`` on every truth
    day — most of which the models were trained on."""
    from finescale.data.seasons import SEASONS, season_of

    s = settings_of(rec)
    var, kind, region = s["variable"], s["transform"], s["region"]
    block = int(json.loads(rec.attrs.get("layout", "{}")).get("segment_days", 60))
    clips = _clip_values(rec, var, kind)
    w_lat = coarse_cells(rec["lat"].values, rec["lat_coarse"].values)
    w_lon = coarse_cells(rec["lon"].values, rec["lon_coarse"].values)
    gen, truth, coarse = rec[var], rec[f"{var}_truth"], rec[f"{var}_coarse"]
    done = rec["slab_done"].values.astype(bool).any(axis=1)
    made = np.zeros(rec.sizes["time"], bool)
    for k in np.flatnonzero(done):  # days of segments with at least one finished block
        made[k * block:(k + 1) * block] = True
    days = pd.DatetimeIndex(rec["time"].values)
    seasons = season_of(days)
    rows = []
    for year in np.unique(days.year):
        if not (made & (days.year == year)).any():
            continue
        if progress:
            progress(f"{region} {year}")
        acc = {key: (Pooled(), Pooled(), [0, 0]) for key in ("all", *SEASONS)}
        blocks: dict[str, tuple] = {}
        for season in SEASONS:
            sdays = days[(days.year == year) & made & (seasons == season)]
            for bd in _runs(sdays, block):
                phys = np.asarray(gen.sel(time=bd).values, np.float64)
                z = analysis(kind, phys)
                c_in = analysis(kind, np.asarray(coarse.sel(time=bd).values, np.float64))
                phys_t = np.asarray(truth.sel(time=bd).values, np.float64)
                zt = np.where(np.isfinite(phys_t), analysis(kind, phys_t), np.nan)
                cz = analysis(kind, to_coarse(phys, w_lat, w_lon))
                have = np.isfinite(zt).all(axis=(-2, -1))
                ct = analysis(kind, to_coarse(phys_t[have], w_lat, w_lon)) if have.any() \
                    else None
                keys = ("all", season)
                if ct is not None:  # a truth year's block: one sample of the reference
                    key = f"block {bd[0]:%Y-%m-%d}"
                    blocks[key] = (season, Pooled(), Pooled(), [0, 0])
                    acc[key] = blocks[key][1:]
                    keys = (*keys, key)
                unseen = have & bd.isin(test_days) if test_days is not None else None
                for key in keys:
                    g, t, n = acc[key]
                    n[0] += bd.size
                    _add(g, z, cz, c_in, clips.get(season), zt)
                    if unseen is not None and unseen.any():
                        g.test.add(z[:, unseen], zt[unseen])
                    if ct is not None:
                        n[1] += int(have.sum())
                        # the truth's own days only (a gap breaks its lag pairs)
                        _add(t, zt[have][None], ct[None], c_in[have], None, None)
        for key, (g, t, (n_days, n_truth)) in acc.items():
            if n_days == 0:
                continue
            level = "block" if key in blocks else "year" if key == "all" else "season"
            base = {"year": int(year), "level": level,
                    "season": blocks[key][0] if key in blocks else key, "region": region,
                    "days": n_days, "truth_days": n_truth, "members": int(rec.sizes["member"])}
            if key in blocks:
                base["start"] = key.split()[1]
            tested = {"r2_test": g.test.r2(), "crps_test": g.test.crps(),
                      "test_days": g.test.days} if test_days is not None else {}
            rows.append({**base, "source": "generated", **_finish(g, bool(clips)), **tested})
            if n_truth:
                row = _finish(t, False)
                row.update(spread=float("nan"), r2=float("nan"), crps=float("nan"))
                rows.append({**base, "days": n_truth, "source": "truth", **row})
    return flag_rows(rows)


# --- the flag --------------------------------------------------------------------------------

# The least half-width of a statistic's envelope (:func:`envelope`). Location statistics
# (analysis scale) are judged as departures from the coarse input's same statistic (a
# dustier year has a dustier input: no flag), with floors in units of the truth's σ (its
# p01..p99 span / 4.65, a normal's);
# scale statistics relative to the reference's mean.
FLOORS: dict[str, tuple[str, float]] = {
    "coarse_r2": ("absolute", 0.02),
    "coarse_bias": ("sigma", 0.1),
    "mean": ("sigma", 0.1),
    "p01": ("sigma", 0.1),
    "p99": ("sigma", 0.1),
    "spread": ("relative", 0.1),
    "semivariance_short": ("relative", 0.1),
    # measured: across blocks of a steady synthetic model (tests/data/test_record_evidence)
    # lag1 − coarse lag1 moves by up to 0.11 with the weather alone
    "lag1": ("absolute", 0.15),
    "clipped": ("absolute", 0.001),
}


RELATIVE_TO_COARSE = ("mean", "p01", "p99", "lag1")


def judged(row: dict, stat: str) -> float:
    """The value the flag judges: location statistics as departures from the coarse
    input's (``mean − coarse_mean``), the others as they are. A value record.json holds as
    null (NaN written as JSON) is NaN."""
    value = row[stat]
    ref = row[f"coarse_{stat}"] if stat in RELATIVE_TO_COARSE else 0.0
    return float("nan") if value is None or ref is None else float(value - ref)


def envelope(rows: list[dict], season: str) -> dict[str, tuple[float, float]]:
    """Per statistic, the interval a generated (year, ``season``) row must stay in: the
    99 % prediction interval of one more block from the generated blocks of that season in
    the truth's years (each block one sample of how far the statistic moves with the
    weather alone; Student t, mean ± t₀.₉₉₅,ₙ₋₁ · sd · √(1 + 1/n)), at least ± the floor.
    A season row pools several blocks, so judging it by a block's interval is
    conservative: few false flags, and a drift is still far outside."""
    ref = [r for r in rows if r["source"] == "generated" and r["level"] == "block"
           and r["season"] == season]
    truth = [r for r in rows if r["source"] == "truth" and r["level"] == "season"
             and r["season"] == season]
    if not ref:
        return {}
    sigma = np.nanmean([(r["p99"] - r["p01"]) / 4.65 for r in truth or ref])
    out = {}
    for stat, (how, floor) in FLOORS.items():
        vals = np.array([judged(r, stat) for r in ref], float)
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            continue
        m = float(vals.mean())
        scale = {"absolute": 1.0, "sigma": sigma, "relative": abs(m)}[how]
        w = floor * scale
        if vals.size > 1:
            t = float(student_t.ppf(0.995, vals.size - 1))
            w = max(w, t * float(vals.std(ddof=1)) * np.sqrt(1 + 1 / vals.size))
        out[stat] = (m - w, m + w)
    return out


def flag_rows(rows: list[dict]) -> list[dict]:
    """Each row gains ``flag`` and ``reason``. A generated season row of a year without
    truth is judged against its season's :func:`envelope` (so a year's season mix never
    enters); a year row is flagged where any of its season rows is, with their reasons.
    Truth rows, the truth's years and their blocks are the reference (flag False). Without
    truth days of a season nothing can be judged there: flag None, with the reason."""
    envs: dict[str, dict] = {}
    for r in rows:
        if r["source"] != "generated" or r["truth_days"] > 0:
            r.update(flag=False, reason="reference" if r["source"] == "truth" or
                     r["level"] == "block" else "truth year (part of the reference)")
        elif r["level"] == "season":
            env = envs.setdefault(r["season"], envelope(rows, r["season"]))
            if not env:
                r.update(flag=None, reason=f"no truth days of {r['season']} to compare with")
                continue
            out = [f"{_name(s)} {judged(r, s):.4g} outside [{lo:.4g}, {hi:.4g}]"
                   for s, (lo, hi) in env.items()
                   if np.isfinite(judged(r, s)) and not lo <= judged(r, s) <= hi]
            r.update(flag=bool(out), reason="; ".join(out) or "within the truth's envelope")
    for r in rows:
        if "flag" in r:
            continue
        parts = [q for q in rows if q["source"] == "generated" and q["year"] == r["year"]
                 and q["level"] == "season"]
        bad = [q for q in parts if q["flag"]]
        judged_any = any(q["flag"] is not None for q in parts)
        r.update(flag=bool(bad) if judged_any else None,
                 reason="; ".join(f"{q['season']}: {q['reason']}" for q in bad)
                 or ("within the truth's envelope in every season" if judged_any
                     else "no truth days to compare with"))
    return rows


def _name(stat: str) -> str:
    return f"{stat} − coarse {stat}" if stat in RELATIVE_TO_COARSE else stat


def check_record_rows(rows: list[dict]) -> None:
    if not rows:
        raise FinescaleError("the record has no generated day yet: nothing to evaluate "
                             "(run finescale reconstruct first)")
