"""The record's speed, this working tree against a git revision, in the same run:
``finescale bench --record-only`` in fresh processes, the revision's code and this tree's
alternating (so that a load beside falls on both alike); prints JSON with each run's
seconds per member-day and projected hours per region, the best of each side and the ratio.

    python scripts/record_speed_ab.py [--rev HEAD] [--rounds 3]

The revision is checked out into a temporary git worktree and imported in place of this
tree (its ``data``, ``model``, ``app`` and ``assets`` as the ``finescale`` packages).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = "import sys; from finescale.app.cli import main; sys.exit(main(sys.argv[1:]))"
PACKAGES = ("data", "model", "app", "assets")


def bench(out: Path, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    subprocess.run([sys.executable, "-c", BENCH, "bench", "--record-only", "--out", str(out)],
                   env=env, check=True, capture_output=True, text=True)
    rows = [r for r in json.loads(out.read_text())["sampling"] if r["method"] == "reconstruct"]
    return {"regions": {r["region"]: {"s_per_member_day": r["seconds_per_map_member"],
                                      "projected_hours": r["projected_full_record_hours"],
                                      "kind": r["kind"], "precision": r["precision"]}
                        for r in rows},
            "projected_hours_total": sum(r["projected_full_record_hours"] for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rev = subprocess.run(["git", "rev-parse", a.rev], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    runs: dict[str, list[dict]] = {"rev": [], "tree": []}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "rev"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=ROOT,
                       check=True)
        try:
            pkg = Path(tmp) / "path" / "finescale"
            pkg.mkdir(parents=True)
            for name in PACKAGES:
                (pkg / name).symlink_to(tree / name)
            for i in range(a.rounds):
                runs["rev"].append(bench(Path(tmp) / f"rev-{i}.json", str(pkg.parent)))
                runs["tree"].append(bench(Path(tmp) / f"tree-{i}.json", None))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False)
    best = {k: min(v, key=lambda r: r["projected_hours_total"]) for k, v in runs.items()}
    print(json.dumps({
        "script": "scripts/record_speed_ab.py", "rev": rev,
        "load_beside": os.environ.get("LOAD_BESIDE", "none said"),
        "best_rev_hours": best["rev"]["projected_hours_total"],
        "best_tree_hours": best["tree"]["projected_hours_total"],
        "speedup": best["rev"]["projected_hours_total"] / best["tree"]["projected_hours_total"],
        "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
