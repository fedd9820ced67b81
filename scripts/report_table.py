"""Print the docs' model-quality table (markdown) from one evaluation report's metrics.json:
per area × season, R², variogram and ACF errors for diffusion, U-Net and bilinear, and the
diffusion ensemble's CRPS and spread/skill; with ``--claims``, the paired-bootstrap verdicts
of the paper's claims instead (diffusion − each model, 95 % intervals).

    python scripts/report_table.py assets/report [--claims]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SEASONS = ("DJF", "MAM", "JJA", "SON")
MODELS = ("diffusion", "unet", "interp-bilinear")


def table(report: Path) -> str:
    recs = json.loads((report / "metrics.json").read_text())
    by = {(r["region"], r["season"], r["model"]): r for r in recs}
    pairs = sorted({(r["region"], r["season"]) for r in recs},
                   key=lambda p: (p[0], SEASONS.index(p[1])))

    def cells(region: str, season: str, key: str, fmt: str = "{:.3f}") -> list[str]:
        vals = [by.get((region, season, m), {}).get(key) for m in MODELS]
        best = (max if key == "r2" else min)(v for v in vals if v is not None)
        return [("**" + fmt.format(v) + "**" if v == best else fmt.format(v))
                if v is not None else "–" for v in vals]

    out = ["| area | season | R² diffusion | U-Net | bilinear | variogram err. diffusion | "
           "U-Net | bilinear | ACF err. diffusion | U-Net | bilinear | CRPS diffusion | "
           "spread/skill |", "|---|---|" + "---|" * 11]
    for region, season in pairs:
        d = by[(region, season, "diffusion")]
        row = [region, season, *cells(region, season, "r2"),
               *cells(region, season, "variogram_error"),
               *cells(region, season, "acf_error"),
               f"{d['crps']:.3f}", f"{d['spread_skill']:.2f}"]
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def claims(report: Path) -> str:
    from finescale.app.report import claims_summary, claims_table

    recs = json.loads((report / "metrics.json").read_text())
    return claims_summary(recs) + "\n\n" + claims_table(recs)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0] if args else "assets/report")
    print(claims(path) if "--claims" in sys.argv else table(path))
