"""The record browser's evidence sections: ``finescale evaluate --record``'s rows per year —
a statistic per year and season against the truth's years, and the table of years with
their flags — and the region's models held out in time (a report's ``time-heldout`` rows):
a strict roll-out through a season-year no model saw, the nearest test of a record year
without truth."""

from __future__ import annotations

import json
from pathlib import Path

import holoviews as hv
import pandas as pd
import panel as pn
import param

from finescale.app.record_report import SEASON_COLOURS
from finescale.data.errors import FinescaleError
from finescale.data.record_evidence import RELATIVE_TO_COARSE, STATS, judged
from finescale.data.resources import asset_dir
from finescale.data.splits import HELDOUT
from finescale.model.registry import SHIPPED_DIR

TABLE = ["year", "days", "truth_days", "coarse_r2", "coarse_bias", "spread",
         "semivariance_short", "lag1", "clipped", "r2", "crps", "test_days", "r2_test",
         "crps_test", "flag", "reason"]
SCORES = (*STATS, "r2", "crps", "r2_test", "crps_test")  # null in record.json: NaN
HELDOUT_TABLE = ["season", "heldout_year", "model", "days", "rollout_days", "r2", "r2_inf", "crps",
                 "crps_fair", "crps_dressed", "acf_error"]


def read_evidence(path: Path) -> list[dict]:
    """The rows of ``DIR/record.json`` (or that file); one line if they are not there."""
    path = Path(path).expanduser()
    f = path / "record.json" if path.is_dir() else path
    try:
        rows = json.loads(f.read_text())
        assert isinstance(rows, list) and all("year" in r and "level" in r for r in rows)
    except (OSError, ValueError, AssertionError):
        raise FinescaleError(f"{f} is not the record.json of `finescale evaluate --record`") \
            from None
    return [{k: float("nan") if v is None and k in SCORES else v for k, v in r.items()}
            for r in rows]


class EvidenceView(pn.viewable.Viewer):
    stat = param.Selector(default="coarse_bias", objects=list(STATS),
                          doc="the statistic drawn per year")

    def __init__(self, path: Path, **params):
        super().__init__(**params)
        self.rows = read_evidence(path)

    @param.depends("stat")
    def plot(self):
        curves = []
        for season, colour in SEASON_COLOURS.items():
            gen = [r for r in self.rows if r["source"] == "generated"
                   and r["level"] == "season" and r["season"] == season]
            tru = [r for r in self.rows if r["source"] == "truth"
                   and r["level"] == "season" and r["season"] == season]
            curves.append(hv.Curve([(r["year"], judged(r, self.stat)) for r in gen],
                                   "year", self.stat, label=season).opts(color=colour))
            bad = [(r["year"], judged(r, self.stat)) for r in gen
                   if r.get("flag") and self.stat in r.get("reason", "")]
            if bad:
                curves.append(hv.Scatter(bad, "year", self.stat, label=f"{season} flagged")
                              .opts(color=colour, marker="x", size=14, line_width=3))
            curves.append(hv.Scatter([(r["year"], judged(r, self.stat)) for r in tru],
                                     "year", self.stat, label="truth" if season == "DJF"
                                     else "").opts(color="black", marker="square",
                                                   fill_alpha=0, size=8))
        name = f"{self.stat} − coarse {self.stat}" if self.stat in RELATIVE_TO_COARSE \
            else self.stat
        years = sorted({r["year"] for r in self.rows})
        step = max(1, len(years) // 12)
        return hv.Overlay(curves).opts(width=870, height=260, legend_position="right",
                                       xticks=years[::step], padding=(0.06, 0.1),
                                       title=f"{name} per year and season (truth: squares)",
                                       show_grid=True)

    def table(self):
        years = pd.DataFrame([r for r in self.rows if r["level"] == "year"
                              and r["source"] == "generated"])
        years = years[[c for c in TABLE if c in years]]
        flagged = int(years["flag"].fillna(False).astype(bool).sum())
        return pn.Column(f"**{flagged} flagged year(s)** of {len(years)}",
                         pn.pane.DataFrame(years, index=False, float_format="{:.4g}".format,
                                           na_rep="—",  # no truth that year: no score
                                           sizing_mode="stretch_width", max_height=360))

    def __panel__(self):
        return pn.Column("### Evidence per year (where there is no truth)",
                         pn.widgets.Select.from_param(self.param.stat, width=240),
                         self.plot, self.table())


def heldout_rows(reports: list[Path], region: str) -> pd.DataFrame:
    """The rows of ``region`` scored held out in time in these reports' ``metrics.json``
    (a folder without one, or with other rows, adds nothing)."""
    rows = []
    for d in reports:
        try:
            recs = json.loads((Path(d) / "metrics.json").read_text())
        except (OSError, ValueError):
            continue
        rows += [r for r in recs if isinstance(r, dict) and r.get("split") == HELDOUT
                 and r.get("region") == region]
    df = pd.DataFrame(rows)
    return df[[c for c in HELDOUT_TABLE if c in df]]


def heldout_section(reports: list[Path], region: str) -> pn.Column:
    """What the models of ``region`` did on a season-year held out in time, or one line
    saying there is no such check for this record yet."""
    df = heldout_rows(reports, region)
    head = "### Held out in time (how far to trust a roll-out without truth)"
    if df.empty:
        where = ", ".join(str(d) for d in reports) or "no report"
        return pn.Column(head, f"No model of {region} was scored held out in time in {where}: "
                         "this record's roll-out has no out-of-sample check here yet "
                         "(`scripts/heldout_evidence.sh` makes one).")
    return pn.Column(
        head,
        "Each model trained without one whole season-year, then rolled out strictly through "
        "it, its own output as history, as the record is made. `acf_error`: how far the "
        "roll-out's day-to-day persistence is from the truth's (lower is closer); "
        "`r2_inf`, `crps_fair`: the ensemble's scores at any number of members.",
        pn.pane.DataFrame(df, index=False, float_format="{:.4g}".format, na_rep="—",
                          sizing_mode="stretch_width"))


def shipped_reports(settings: dict) -> list[Path]:
    """The shipped report for a store made with shipped weights only (that report scored the
    data they were trained on); none for a store of one's own models."""
    made_with = set(settings.get("checkpoints", {}).values())
    shipped = {json.loads(m.read_text()).get("weights_sha256", "")[:16]
               for m in SHIPPED_DIR.glob("*.json")}
    return [asset_dir() / "report"] if made_with and made_with <= shipped else []


def evidence_sections(evidence: Path | None, reports: list[Path] | None, settings: dict
                      ) -> list:
    """The record browser's sections below its maps: the per-year evidence (``evidence``,
    where given) and the region's models held out in time (``reports``; default: the
    shipped report for a store of shipped weights)."""
    held = heldout_section(shipped_reports(settings) if reports is None else reports,
                           settings.get("region", ""))
    return [*([EvidenceView(evidence)] if evidence is not None else []), held]
