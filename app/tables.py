"""Tables of the dashboard: read-only HTML, and the domain-similarity table computed once
per process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import panel as pn

from finescale.app import jobs

_NAMES_LEFT = ".panel-df td:first-child, .panel-df th:first-child {text-align: left;}"
_SIMILARITY = jobs.Once()  # one domain-similarity table per dataset and process


def table(df: pd.DataFrame, max_height: int | None = None) -> pn.pane.DataFrame:
    """A read-only table as HTML: a few rows need no table library on every page load."""
    return pn.pane.DataFrame(df, index=False, na_rep="–", max_height=max_height,
                             sizing_mode="stretch_width", stylesheets=[_NAMES_LEFT],
                             styles={"overflow-y": "auto"} if max_height else {})


def similarity(path: str, wake: Callable[[], None] | None = None) -> jobs.Job:
    """The domain-similarity table: read from DATA/similarity.csv (what ``finescale data
    similarity`` writes), else computed once per process in the background (about 2 minutes
    for the default data on 2 cores) and saved there; ``wake`` is called when it is ready."""
    from finescale.app.state import shared_dataset
    from finescale.data.similarity import similarity_table

    def load(job: jobs.Job) -> pd.DataFrame:
        csv = Path(path) / "similarity.csv"
        if csv.exists():
            return pd.read_csv(csv).round(4)
        table = similarity_table(shared_dataset(Path(path)))
        try:
            tmp = csv.with_name(".similarity.csv.tmp")
            table.to_csv(tmp, index=False, float_format="%.6f")
            tmp.replace(csv)
        except OSError:
            pass  # a read-only data directory: keep it in memory only
        return table.round(4)

    return _SIMILARITY.get(path, "similarity", load, wake)
