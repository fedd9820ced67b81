"""Does the year the networks see bend the texture of years without truth? One member of
July of several years (after 10 spin-up days from 21 June), generated fresh with a student:
its short-lag semivariance (log10) with the year pinned to the fitted span (finescale's
default) and with the year extrapolated (as before the pinning), beside the truth's July
2006. Prints one JSON object (docs/data/year-pin.json).

    python scripts/year_pin_check.py --checkpoint area0-JJA-distilled --years 2001 2006 2022
"""

from __future__ import annotations

import argparse
import json
from unittest import mock

import numpy as np

import finescale.model.datasets as dsm
from finescale.data.record_evidence import semivariance_short
from finescale.model import api as fs


def texture(values: np.ndarray) -> float:
    s, n = semivariance_short(np.log10(np.maximum(values, 1e-6)))
    return round(s / n, 6)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default="area0-JJA-distilled")
    p.add_argument("--years", type=int, nargs="+", default=[2001, 2006, 2022])
    p.add_argument("--truth-year", type=int, default=2006)
    a = p.parse_args()
    ds = fs.open_dataset()
    model = fs.load_checkpoint(a.checkpoint, ds)
    coarse, var = ds.region(model.region).coarse, model.variable
    out: dict[str, dict[int, float]] = {"pinned": {}, "extrapolated": {}}
    own = lambda day, span: day.year + day.day_of_year / 365.25  # noqa: E731
    for variant in out:
        with mock.patch.object(dsm, "model_year", own) if variant == "extrapolated" \
                else mock.patch.object(dsm, "model_year", dsm.model_year):
            for y in a.years:
                g = fs.downscale(model, coarse.sel(time=slice(f"{y}-06-21", f"{y}-07-31")),
                                 members=1, spinup=10, precision="fp32", seed=1)
                out[variant][y] = texture(g[var].values)
    truth = ds.region(model.region).fine.sel(time=slice(f"{a.truth_year}-07-01",
                                                         f"{a.truth_year}-07-31")).values
    print(json.dumps({"checkpoint": a.checkpoint, "semivariance_short": out,
                      f"truth_{a.truth_year}": texture(truth)}))


if __name__ == "__main__":
    main()
