"""``finescale evaluate --record STORE --out DIR``: the per-year evidence of a record as
``record.json`` (the rows of :func:`finescale.data.record_evidence.year_rows`),
``report.md`` and ``record.png`` (each statistic per year, the truth years' envelope
shaded, flagged years marked)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from finescale.data.record_evidence import RELATIVE_TO_COARSE, STATS, check_record_rows, judged

COLUMNS = ("year", "source", "days", "truth_days", *STATS, "r2", "crps", "flag")
TEST_COLUMNS = ("test_days", "r2_test", "crps_test")  # where the models' split was known
SEASON_COLOURS = {"DJF": "#1f77b4", "MAM": "#2ca02c", "JJA": "#d62728", "SON": "#ff7f0e"}


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "**yes**" if v else ""
    return str(v)


def markdown(rows: list[dict], store: str) -> str:
    flagged = [r for r in rows if r.get("flag") and r["level"] == "year"]
    rows = [r for r in rows if r["level"] == "year"]
    tested = any("r2_test" in r for r in rows)
    columns = (*COLUMNS[:-1], *TEST_COLUMNS, COLUMNS[-1]) if tested else COLUMNS
    scored = ("`r2`/`crps` score the members against every truth day, most of which the "
              "models were trained on; `r2_test`/`crps_test` only on their split's test "
              "days, never trained or validated on. " if tested else "")
    lines = [f"# Evidence of the record {store}", "",
             "One row per year: the generated members (`generated`) and, where it exists, the "
             "fine truth (`truth`, the reference); `record.json` also holds a row per year "
             "and season and the truth years' blocks of days. Each season of a generated "
             "year is judged against the blocks of the same season in the truth's years "
             "(mean, p01, p99 and lag1 as departures from the coarse input's); a year is "
             "flagged where any season leaves that envelope "
             "(docs/reconstruct.md). " + scored, "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    lines += ["", f"**{len(flagged)} flagged year(s)**" + (":" if flagged else ".")]
    lines += [f"- {r['year']}: {r['reason']}" for r in flagged]
    return "\n".join(lines) + "\n"


def figure(rows: list[dict], path: Path) -> None:
    """Each statistic per year and season: generated (lines), truth (black), the flagged
    (year, season) crossed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 3, figsize=(12, 8), sharex=True, constrained_layout=True)
    for ax, stat in zip(axes.ravel(), STATS, strict=True):
        for season, colour in SEASON_COLOURS.items():
            gen = [r for r in rows if r["source"] == "generated" and r["level"] == "season"
                   and r["season"] == season]
            tru = [r for r in rows if r["source"] == "truth" and r["level"] == "season"
                   and r["season"] == season]
            ax.plot([r["year"] for r in gen], [judged(r, stat) for r in gen], "o-", ms=3,
                    color=colour, lw=1, label=season)
            ax.plot([r["year"] for r in tru], [judged(r, stat) for r in tru], "s", ms=5,
                    mfc="none", color="black", label="truth" if season == "DJF" else None)
            bad = [r for r in gen if r.get("flag") and stat in r.get("reason", "")]
            ax.plot([r["year"] for r in bad], [judged(r, stat) for r in bad], "x", ms=10,
                    color=colour, mew=2)
        ax.set_title(f"{stat} − coarse" if stat in RELATIVE_TO_COARSE else stat)
    axes[0, 0].legend(fontsize=7, ncol=2)
    from matplotlib.ticker import MaxNLocator

    axes[0, 0].xaxis.set_major_locator(MaxNLocator(nbins=7, integer=True))  # 25 years: readable
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)


def write_record_report(rows: list[dict], out: Path, store: str) -> Path:
    """Write record.json, report.md and record.png into ``out`` (each atomically)."""
    check_record_rows(rows)
    out.mkdir(parents=True, exist_ok=True)
    clean = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
              for k, v in r.items()} for r in rows]
    for name, text in (("record.json", json.dumps(clean, indent=1)),
                       ("report.md", markdown(rows, store))):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)
    figure(rows, out / "record.png")
    return out
