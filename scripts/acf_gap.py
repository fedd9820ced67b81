"""Where does a roll-out's day-to-day persistence depart from the truth's? Splits the pixel
ACF of strict roll-outs (``finescale generate`` files) into the part the coarse input
carries and the fine residual the model generates, for the members and the truth.

    python scripts/acf_gap.py area0-JJA-diffusion.nc area0-JJA-ablation.nc [--lags 5]

Per file, on the analysis scale of the file's ``transform`` attribute (log10 for
log-transformed data), with ``base`` the coarse field bilinearly regridded to the fine grid
(the diffusion model's residual base):

* ``acf_total``: pixel ACF of the fields (what ``finescale evaluate`` scores), members
  averaged, beside the truth's;
* ``acf_residual``: pixel ACF of field − base: the fine detail's persistence;
* ``acf_base``: the base's own (the same for members and truth);
* ``pattern_r1``: spatial correlation of the residual map with the next day's, averaged
  over days (and members): does the same fine pattern come back tomorrow?
* ``residual_std_ratio``: the members' residual standard deviation over the truth's;
* ``acf_error``, ``lead_rmse``: ``finescale evaluate``'s roll-out scores of the file
  (``data.evaluation.temporal``: the pixel-ACF error over every lag the roll-out allows,
  up to 30, and the ensemble mean's RMSE averaged over lead days).

Prints one JSON object (one entry per file).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import xarray as xr

from finescale.data.diagnostics import pixel_acf
from finescale.data.evaluation import temporal
from finescale.data.regrid import regrid
from finescale.data.transforms import analysis


def _variable(ds: xr.Dataset) -> str:
    return next(v for v in ds.data_vars if f"{v}_truth" in ds and "member" in ds[v].dims)


def _pattern_r1(res: np.ndarray) -> float:
    """Mean spatial correlation of consecutive days' residual maps, res (time, lat, lon)."""
    a = res.reshape(res.shape[0], -1)
    out = []
    for x, y in itertools.pairwise(a):
        ok = np.isfinite(x) & np.isfinite(y)
        out.append(np.corrcoef(x[ok], y[ok])[0, 1])
    return float(np.mean(out))


def gap(path: Path, lags: int) -> dict:
    with xr.open_dataset(path) as f:
        ds = f.load()
    kind = ds.attrs.get("transform", "log")  # the analysis scale the generating model used
    var = _variable(ds)
    coarse = ds[f"{var}_coarse"].rename({"lat_coarse": "lat", "lon_coarse": "lon"})
    base = regrid(analysis(kind, coarse), ds["lat"].values, ds["lon"].values, "bilinear")
    base = base.values.astype(np.float64)
    gen = analysis(kind, ds[var].transpose("member", "time", "lat", "lon").values)
    truth = analysis(kind, ds[f"{var}_truth"].transpose("time", "lat", "lon").values)
    res_g, res_t = gen - base[None], truth - base
    scored = temporal(ds[var].transpose("member", "time", "lat", "lon"), ds[f"{var}_truth"],
                      transform=kind)

    def members(f) -> list[float]:
        return np.mean([f(m) for m in range(gen.shape[0])], axis=0).round(4).tolist()

    return {
        "file": str(path), "days": int(truth.shape[0]), "members": int(gen.shape[0]),
        "acf_total": {"members": members(lambda m: pixel_acf(gen[m], lags)),
                      "truth": pixel_acf(truth, lags).round(4).tolist()},
        "acf_residual": {"members": members(lambda m: pixel_acf(res_g[m], lags)),
                         "truth": pixel_acf(res_t, lags).round(4).tolist()},
        "acf_base": pixel_acf(base, lags).round(4).tolist(),
        "pattern_r1": {"members": round(float(np.mean([_pattern_r1(r) for r in res_g])), 4),
                       "truth": round(_pattern_r1(res_t), 4)},
        "residual_std_ratio": round(float(np.nanstd(res_g) / np.nanstd(res_t)), 4),
        "acf_error": round(float(scored["acf_error"]), 4),
        "lead_rmse": round(float(np.mean(scored["lead_rmse"])), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--lags", type=int, default=5)
    args = ap.parse_args()
    print(json.dumps([gap(p, args.lags) for p in args.files], indent=1))


if __name__ == "__main__":
    main()
