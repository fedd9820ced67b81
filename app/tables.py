"""Read-only tables of the dashboard, as HTML: a few rows need no table library on every
page load."""

from __future__ import annotations

import pandas as pd
import panel as pn

_NAMES_LEFT = ".panel-df td:first-child, .panel-df th:first-child {text-align: left;}"


def table(df: pd.DataFrame, max_height: int | None = None) -> pn.pane.DataFrame:
    return pn.pane.DataFrame(df, index=False, na_rep="–", max_height=max_height,
                             sizing_mode="stretch_width", stylesheets=[_NAMES_LEFT],
                             styles={"overflow-y": "auto"} if max_height else {})
