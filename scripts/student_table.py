"""The students' test-day scores beside their teachers', as a markdown table.

Teachers (and the students scored inside the shipped report) come from
``assets/report/metrics.json``; students scored on their own afterwards (same test days,
members, seed, precision and roll-out as the report) from ``docs/data/student-*-test.json``.
The latter comparison is unpaired: point estimates on the same days, no interval of the
difference. Usage: python scripts/student_table.py [REPORT_METRICS] [STUDENT_JSON ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEASONS = ("DJF", "MAM", "JJA", "SON")


def rows(report: Path, extra: list[Path]) -> list[dict]:
    rep = json.loads(report.read_text())
    teacher = {(r["region"], r["season"]): r for r in rep if r["model"] == "diffusion"}
    students = {(r["region"], r["season"]): (r, "in the report") for r in rep
                if r["model"] == "distilled"}
    for f in extra:
        for r in json.loads(f.read_text()):
            students.setdefault((r["region"], r["season"]), (r, "on its own"))
    out = []
    for key in sorted(students, key=lambda k: (k[0], SEASONS.index(k[1]))):
        s, how = students[key]
        t = teacher[key]
        out.append({"pair": f"{key[0]} {key[1]}", "how": how, "days": s["days"],
                    "r2": s["r2"], "r2_teacher": t["r2"], "d_r2": s["r2"] - t["r2"],
                    "crps": s["crps"], "crps_teacher": t["crps"],
                    "d_crps": s["crps"] / t["crps"] - 1,
                    "vario": s["variogram_error"], "vario_teacher": t["variogram_error"]})
    return out


def table(rs: list[dict]) -> str:
    lines = ["| pair | scored | test days | R² student / teacher | Δ R² | CRPS student / teacher "
             "| Δ CRPS | variogram err. student / teacher |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rs:
        lines.append(f"| {r['pair']} | {r['how']} | {r['days']} | {r['r2']:.4f} / "
                     f"{r['r2_teacher']:.4f} | {r['d_r2']:+.4f} | {r['crps']:.4f} / "
                     f"{r['crps_teacher']:.4f} | {r['d_crps']:+.1%} | {r['vario']:.3f} / "
                     f"{r['vario_teacher']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    report = Path(argv[0]) if argv else ROOT / "assets/report/metrics.json"
    extra = [Path(a) for a in argv[1:]] or sorted((ROOT / "docs/data").glob("student-*-test.json"))
    print(table(rows(report, extra)))


if __name__ == "__main__":
    main(sys.argv[1:])
