"""Print the docs' model-quality table (markdown) from one evaluation report's metrics.json:
per area × season, R², variogram and ACF errors for diffusion, U-Net and bilinear, and the
diffusion ensemble's CRPS and spread/skill; with ``--claims``, the paired-bootstrap verdicts
of the paper's claims instead (diffusion − each model, 95 % intervals); with ``--models``,
every model of each pair in the report, one row each (the equal-budget evidence tables);
with ``--page``, a whole docs page of both (what ``scripts/evidence.sh`` writes); with
``--summary``, the claims' verdicts in words. ``--fill FILE…`` makes every generated block of
the files again from the report its marker names, in place:

    <!-- generated: summary assets/report -->   (or: table, models, claims)
    …
    <!-- /generated -->

so that the docs' sentences that quote a report are the report's (a test checks the
committed ones).

    python scripts/report_table.py assets/report [--claims | --models | --page | --summary]
    python scripts/report_table.py --fill docs/evaluation.md README.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from finescale.app.claims import (
    claims_matrix,
    claims_paragraph,
    claims_summary,
    claims_table,
    report_pairs,
)
from finescale.app.report import labelled

MODELS = ("diffusion", "unet", "interp-bilinear")


HIGHER_BETTER = ("r2", "nse", "kge")


def best_of(key: str, values) -> float | None:
    """The best of a column's values: the highest R², NSE or KGE, the lowest error."""
    values = [v for v in values if v is not None]
    return (max if key in HIGHER_BETTER else min)(values) if values else None


def cell(value: float | None, best: float | None, fmt: str = "{:.3f}") -> str:
    """One table cell, bold where it is the column's best."""
    if value is None:
        return "–"
    return f"**{fmt.format(value)}**" if value == best else fmt.format(value)


def table(report: Path) -> str:
    recs = labelled(json.loads((report / "metrics.json").read_text()))
    by = {(r["region"], r["season"], r["model"]): r for r in recs}
    pairs = report_pairs(recs)

    def cells(region: str, season: str, key: str) -> list[str]:
        vals = [by.get((region, season, m), {}).get(key) for m in MODELS]
        return [cell(v, best_of(key, vals)) for v in vals]

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


ORDER = ("diffusion", "distilled", "ablation", "unet", "transfer", "vae", "interp-bilinear",
         "interp-bicubic")
NAMES = {"distilled": "distilled (its student)", "ablation": "ablation (no encoder features)",
         "transfer": "transfer (U-Net + encoder features)", "unet": "U-Net",
         "vae": "VAE", "interp-bilinear": "bilinear", "interp-bicubic": "bicubic"}


def models(report: Path) -> str:
    """Every model of each pair, one row each; a report with the size- and type-fair scores
    has them beside (R² with infinitely many members; CRPS fair for an ensemble, dressed
    for a deterministic model), which the claims use."""
    recs = labelled(json.loads((report / "metrics.json").read_text()))
    fair = any(r.get("r2_inf") is not None for r in recs)
    out = []
    for region, season in report_pairs(recs):
        rows = [r for r in recs if (r["region"], r["season"]) == (region, season)]
        rows.sort(key=lambda r: ORDER.index(r["model"]) if r["model"] in ORDER else len(ORDER))
        best = {k: best_of(k, (r.get(k) for r in rows))
                for k in ("r2", "rmse", "variogram_error", "spectrum_error", "acf_error")}
        # CRPS of an ensemble, MAE (the CRPS of a point) of a deterministic model
        crps_of = {id(r): r["crps"] if r.get("crps") is not None else r["mae"] for r in rows}
        best["crps"] = best_of("crps", crps_of.values())
        # the fair ones: an ensemble's infinite-member R² (a deterministic model's own R²)
        # and fair CRPS, a deterministic model's dressed CRPS
        r2_inf = {id(r): r.get("r2_inf") if r.get("r2_inf") is not None else r.get("r2")
                  for r in rows}
        prob = {id(r): r.get("crps_fair") if r.get("crps_fair") is not None
                else r.get("crps_dressed") for r in rows}
        best["r2_inf"], best["crps_prob"] = (best_of("r2", r2_inf.values()),
                                             best_of("crps", prob.values()))

        def c(r: dict, k: str, best: dict = best) -> str:
            return cell(r.get(k), best[k])

        head = "| model | R² [95 %] | RMSE | CRPS (MAE) |"
        if fair:
            head += " R² ∞ | CRPS fair / dressed |"
        head += " spread/skill | variogram err. | spectrum err. | ACF err. |"
        out += [f"{region} {season} ({rows[0].get('days')} test days)", "", head,
                "|---|" + "---|" * (head.count("|") - 2)]
        for r in rows:
            ci = (f" [{r['r2_ci_low']:.3f}, {r['r2_ci_high']:.3f}]"
                  if r.get("r2_ci_low") is not None else "")
            spread = f"{r['spread_skill']:.2f}" if r.get("spread_skill") is not None else "–"
            fair_cells = (f" {cell(r2_inf[id(r)], best['r2_inf'])} |"
                          f" {cell(prob[id(r)], best['crps_prob'], '{:.4f}')} |"
                          if fair else "")
            out.append(f"| {NAMES.get(r['model'], r['model'])} | {c(r, 'r2')}{ci} | "
                       f"{c(r, 'rmse')} | {cell(crps_of[id(r)], best['crps'])} |{fair_cells} "
                       f"{spread} | {c(r, 'variogram_error')} | {c(r, 'spectrum_error')} | "
                       f"{c(r, 'acf_error')} |")
        out.append("")
    return "\n".join(out)


PAPER = (("r2", "R²"), ("rmse", "RMSE"), ("mae", "MAE"), ("nse", "NSE"), ("kge", "KGE"))


def paper_table(report: Path) -> str:
    """The paper's table: R², RMSE, MAE, NSE and KGE of every model × area × season (the
    ensemble mean's for an ensemble), best of each pair in bold."""
    recs = labelled(json.loads((report / "metrics.json").read_text()))
    out = ["| area | season | model | " + " | ".join(t for _, t in PAPER) + " |",
           "|---|---|---|" + "---|" * len(PAPER)]
    for region, season in report_pairs(recs):
        rows = sorted((r for r in recs if (r["region"], r["season"]) == (region, season)),
                      key=lambda r: ORDER.index(r["model"]) if r["model"] in ORDER
                      else len(ORDER))
        best = {k: best_of(k, (r.get(k) for r in rows)) for k, _ in PAPER}
        for r in rows:
            out.append(f"| {region} | {season} | {NAMES.get(r['model'], r['model'])} | "
                       + " | ".join(cell(r.get(k), best[k]) for k, _ in PAPER) + " |")
    return "\n".join(out)


def claims(report: Path) -> str:
    recs = labelled(json.loads((report / "metrics.json").read_text()))
    return "\n\n".join((claims_summary(recs), claims_matrix(recs), claims_table(recs)))


def _noise(settings: dict) -> str:
    """Reports from before noise memory drew every day's noise afresh; ``None`` is each
    model's own (model.kinds)."""
    rho = settings.get("noise_rho", 0)
    if rho is None:
        own = ", ".join(f"{k} {r:g}" for k, r in settings.get("noise_rho_by_kind", {}).items())
        return f"each model's own noise memory ρ ({own})"
    return f"noise memory ρ {rho:g}" if rho else "independent days' noise"


def page(report: Path) -> str:
    """A docs page of the evidence: how it was made, every model's scores per pair, and each
    claim's verdict."""
    meta = json.loads((report / "meta.json").read_text())
    st = meta["settings"]
    return "\n".join([
        "# The paper's evidence: every model, every pair", "",
        "Generated by `scripts/evidence.sh` from `" + str(report) + "`; do not edit by hand "
        "(rerun the script). What the models, budget and scores are: "
        "[evaluation.md](evaluation.md).", "",
        f"Scored: {st.get('split', 'test')} days ({'all' if not st.get('days') else st['days']} "
        f"per pair), {st.get('members')} members, {st.get('rollout')}-day strict roll-out, "
        f"{st.get('solver')} {st.get('steps')} steps, {st.get('precision')}, "
        f"{_noise(st)}, {st.get('boot')} paired bootstrap resamples of the days, on "
        f"{st.get('device')}.", "",
        "```", st.get("command", ""), "```", "",
        "## Scores per pair", "",
        "R² with its 95 % interval; CRPS for ensembles, MAE for deterministic models (the "
        "CRPS of one member); best of each column in bold.", "",
        models(report), "",
        "## The paper's table", "",
        "R², RMSE, MAE, NSE and KGE pooled over every pixel of the test days, on the "
        "analysis scale (log10 AOT for the default data); an ensemble is scored by its "
        "members' mean. Best of each pair in bold.", "",
        paper_table(report), "",
        "## The paper's claims: diffusion − each model", "",
        "Paired 95 % bootstrap intervals over the test days. *holds*: the interval lies on "
        "diffusion's better side; *fails*: on the other side; *undecided*: it contains 0. "
        "The first table counts holds / fails / undecided over the pairs, the second gives "
        "each pair's verdicts (R² · CRPS · variogram error), the third the differences.", "",
        claims(report), ""])


def summary(report: Path) -> str:
    return claims_paragraph(labelled(json.loads((report / "metrics.json").read_text())))


BLOCKS = {"summary": summary, "table": table, "models": models, "claims": claims}
BEGIN, END = "<!-- generated: ", "<!-- /generated -->"


def fill(text: str, root: Path = Path(".")) -> str:
    """``text`` with every generated block made again from the report its marker names
    (relative to ``root``); the rest unchanged."""
    out, rest = [], text
    while BEGIN in rest:
        head, tail = rest.split(BEGIN, 1)
        marker, tail = tail.split("-->", 1)
        kind, report = marker.split()
        if kind not in BLOCKS or END not in tail:
            raise SystemExit(f"report_table: bad generated block {BEGIN}{marker}-->")
        rest = tail.split(END, 1)[1]
        out += [head, f"{BEGIN}{marker}-->\n", BLOCKS[kind](root / report), f"\n{END}"]
    return "".join([*out, rest])


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--fill" in sys.argv:
        for name in args:
            f = Path(name)
            new = fill(f.read_text())
            if new != f.read_text():
                f.with_suffix(".tmp").write_text(new)
                f.with_suffix(".tmp").replace(f)
                print(f"filled {f}")
        sys.exit(0)
    path = Path(args[0] if args else "assets/report")
    if "--summary" in sys.argv:
        print(summary(path))
    elif "--page" in sys.argv:
        print(page(path))
    elif "--claims" in sys.argv:
        print(claims(path))
    else:
        print(models(path) if "--models" in sys.argv else table(path))
