"""The report's claims as text: diffusion − each model with its interval and verdict, in
tables, counts and a matrix (the verdicts themselves come from data.bootstrap)."""

from __future__ import annotations

import math
import textwrap

import pandas as pd

from finescale.data.bootstrap import NOT_CLAIMS
from finescale.data.seasons import SEASONS
from finescale.data.splits import HELDOUT

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


def _pairs_text(rows: list[dict], key: str | None = None, fmt: str = "{:.3f}") -> str:
    """``unet (area1 DJF, area1 MAM); transfer (area0 DJF)``: the comparisons, by model;
    with ``key``, each model's largest difference of it too (``…, by ≤ 0.015``)."""
    by: dict[str, list[tuple[str, str]]] = {}
    gap: dict[str, float] = {}
    for r in rows:
        by.setdefault(r["model"], []).append((r["region"], r["season"]))
        if key is not None:
            gap[r["model"]] = max(gap.get(r["model"], 0.0), abs(r[f"{key}_vs_diffusion"]))
    def places(pairs: list[tuple[str, str]]) -> str:
        pairs = sorted(pairs, key=lambda q: (q[0], *_season_order(q[1])))
        return ", ".join(f"{a} {s}" for a, s in pairs)

    by_gap = {m: f", by ≤ {_ceil(g, fmt)}" for m, g in gap.items()}
    return "; ".join(f"{m} ({places(p)}{by_gap.get(m, '')})" for m, p in by.items())


def _span(first: float, last: float, fmt: str, dash: str = "–") -> str:
    """``first–last`` in ``fmt``, or one value where both read the same."""
    a, b = fmt.format(first), fmt.format(last)
    return a if a == b else f"{a}{dash}{b}"


def _ceil(value: float, fmt: str) -> str:
    """``value`` rounded up at ``fmt``'s decimals: a bound that holds (0.0205 → 0.021)."""
    places = int(fmt.split(".")[1][0])
    return f"{math.ceil(value * 10**places - 1e-9) / 10**places:.{places}f}"


def _crps_of(rec: dict, key: str) -> float | None:
    """A row's own value of the CRPS claim ``key`` (the base of a relative difference)."""
    if key == "crps_prob":
        return rec.get("crps_fair") or rec.get("crps_dressed")
    return rec.get(key)


def claims_paragraph(recs: list[dict]) -> str:
    """The report's verdicts in words, for the docs' sentences that quote it: per claim how
    many comparisons hold, fail or are undecided (Holm-adjusted where the report has it) and
    which fail or stay undecided, what the encoder adds (diffusion − ablation), and the
    diffusion ensemble's own range. Rows as :func:`finescale.app.report.labelled` gives them
    (a season held out in time is its own pair)."""
    rows = _claim_rows(recs)
    diffusion = [r for r in recs if r["model"] == "diffusion"]
    if not rows or not diffusion:
        return "No claims (no diffusion model, or no intervals)."
    claims = claims_of(rows)
    r2 = [r["r2"] for r in diffusion]
    ss = [r["spread_skill"] for r in diffusion if r.get("spread_skill") is not None]
    pairs = "pair" if len(diffusion) == 1 else "pairs"
    text = [f"Over {len(diffusion)} area × season {pairs} the diffusion ensemble mean's R² is "
            f"{_span(min(r2), max(r2), '{:.3f}')}"
            + (f" (spread/skill {_span(min(ss), max(ss), '{:.2f}')})" if ss else "") + "."]
    holm = any(f"{k}_vs_diffusion_claim_holm" in r for r in rows for k, _, _ in claims)
    for key, title, fmt in claims:
        judged = [(r, adjusted_verdict(r, key)) for r in rows
                  if r.get(f"{key}_vs_diffusion_claim")]
        n = {w: [r for r, v in judged if v == w] for w in VERDICT_WORDS}
        line = (f"**{title[0].upper()}{title[1:]}** holds in {len(n['holds'])} of "
                f"{len(judged)} comparisons")
        if n["fails"]:
            line += f"; fails against {_pairs_text(n['fails'], key, fmt)}"
        if n["undecided"]:
            line += f"; undecided against {_pairs_text(n['undecided'])}"
        text.append(line + ".")
    ablation = [r for r in rows if r["model"] == "ablation"]
    if ablation:
        crps_key = claims[1][0]
        d_r2 = [r[f"{claims[0][0]}_vs_diffusion"] for r in ablation]
        rel = [100 * r[f"{crps_key}_vs_diffusion"] / _crps_of(r, crps_key) for r in ablation
               if _crps_of(r, crps_key)]
        numbers = (f"R² {_span(min(d_r2), max(d_r2), '{:+.3f}', ' to ')}"
                   + (f", CRPS {_span(max(rel), min(rel), '{:+.1f}', ' to ')} %"
                      if rel else ""))
        text.append("**The encoder's features** (diffusion − ablation): "
                    + numbers.replace("-", "−") + ".")
    nse = _best(recs, "nse")
    if nse:
        text.append(f"Best NSE of a pair (no interval, not a claim): {nse}.")
    acf = _best(recs, "acf_error", lower=True)
    if acf:
        held = all(r.get("split") == HELDOUT for r in recs)
        text.append("Closest to the truth's persistence (ACF error of the strict roll-out, "
                    + ("held out in time" if held else "random split: mostly through "
                       "training days") + f"; no interval): {acf}.")
    if holm:
        text.append("(Verdicts Holm-adjusted over the report's comparisons.)")
    return textwrap.fill(" ".join(text), width=92, break_long_words=False,
                         break_on_hyphens=False)


def _best(recs: list[dict], key: str, lower: bool = False) -> str:
    """Which model is best on ``key`` in each pair (interpolation and diffusion's own
    students aside): ``diffusion in 5 of 8 pairs, transfer (area1 MAM, area1 JJA)``; empty
    where no row has it."""
    best: dict[tuple[str, str], dict] = {}
    sign = -1 if lower else 1
    for r in recs:
        if r.get(key) is None or r["model"].startswith("interp") or r["model"] in NOT_CLAIMS:
            continue
        pair = (r["region"], r["season"])
        if pair not in best or sign * r[key] > sign * best[pair][key]:
            best[pair] = r
    wins = [r for r in best.values() if r["model"] == "diffusion"]
    others = [r for r in best.values() if r["model"] != "diffusion"]
    parts = ([f"diffusion in {len(wins)} of {len(best)} pair{'s' if len(best) != 1 else ''}"]
             if best else [])
    return ", ".join(parts + ([_pairs_text(others)] if others else []))
