"""Print the docs' model-quality table (markdown) from one evaluation report's metrics.json:
per area × season, R², variogram and ACF errors for diffusion, U-Net and bilinear, and the
diffusion ensemble's CRPS and spread/skill; with ``--claims``, the paired-bootstrap verdicts
of the paper's claims instead (diffusion − each model, 95 % intervals); with ``--models``,
every model of each pair in the report, one row each (the equal-budget evidence tables).

    python scripts/report_table.py assets/report [--claims | --models]
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


NAMES = {"ablation": "ablation (no encoder features)",
         "transfer": "transfer (U-Net + encoder features)", "unet": "U-Net",
         "vae": "VAE", "interp-bilinear": "bilinear", "interp-bicubic": "bicubic"}


def models(report: Path) -> str:
    recs = json.loads((report / "metrics.json").read_text())
    out = []
    for region, season in sorted({(r["region"], r["season"]) for r in recs}):
        rows = [r for r in recs if (r["region"], r["season"]) == (region, season)]
        best = {k: (max if k == "r2" else min)(r[k] for r in rows if r.get(k) is not None)
                for k in ("r2", "rmse", "variogram_error", "spectrum_error", "acf_error")}

        def cell(r: dict, k: str, best: dict = best) -> str:
            v = r.get(k)
            if v is None:
                return "–"
            return f"**{v:.3f}**" if best.get(k) == v else f"{v:.3f}"

        out += [f"{region} {season} ({rows[0].get('days')} test days)", "",
                "| model | R² [95 %] | RMSE | CRPS (MAE) | spread/skill | variogram err. | "
                "spectrum err. | ACF err. |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            ci = (f" [{r['r2_ci_low']:.3f}, {r['r2_ci_high']:.3f}]"
                  if r.get("r2_ci_low") is not None else "")
            crps = r["crps"] if r.get("crps") is not None else r["mae"]
            spread = f"{r['spread_skill']:.2f}" if r.get("spread_skill") is not None else "–"
            out.append(f"| {NAMES.get(r['model'], r['model'])} | {cell(r, 'r2')}{ci} | "
                       f"{cell(r, 'rmse')} | {crps:.3f} | {spread} | "
                       f"{cell(r, 'variogram_error')} | {cell(r, 'spectrum_error')} | "
                       f"{cell(r, 'acf_error')} |")
        out.append("")
    return "\n".join(out)


def claims(report: Path) -> str:
    from finescale.app.report import claims_summary, claims_table

    recs = json.loads((report / "metrics.json").read_text())
    return claims_summary(recs) + "\n\n" + claims_table(recs)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0] if args else "assets/report")
    if "--claims" in sys.argv:
        print(claims(path))
    else:
        print(models(path) if "--models" in sys.argv else table(path))
