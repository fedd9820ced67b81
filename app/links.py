"""The view in the page's URL (``?region=…&season=…&date=…&model=…&members=…&tab=…``): a
link opens the same view, and the URL follows every change."""

from __future__ import annotations

import json

import panel as pn

from finescale.app.jobview import notify
from finescale.app.selection import Selection

# what a link restores: the page's choice (Selection parameters → query keys) and the open tab
URL_STATE = {"region": "region", "season": "season", "date": "date", "model": "model",
             "members": "members"}


def share_in_url(selection: Selection, tabs: pn.Tabs) -> None:
    """Sync ``selection`` and the open tab with the URL of a served page (nothing when not
    served). The query is applied at once: before the first generation, which is scheduled
    for the next tick."""
    loc = pn.state.location
    if loc is None:  # not served (tests, scripts)
        return
    loc.sync(selection, URL_STATE, on_error=_bad_link)
    loc.sync(tabs, {"active": "tab"})
    pn.state.onload(lambda: _write_url(selection, tabs))


def _bad_link(values: dict) -> None:
    """A link whose values this data cannot show (an unknown model, a day outside the
    record): said on the page, not silently replaced."""
    wrong = ", ".join(f"{k}={v}" for k, v in values.items())
    pn.state.execute(lambda: notify(f"this link's {wrong} cannot be shown here; showing the "
                                    "page's own choice instead"), schedule=True)


def _write_url(selection: Selection, tabs: pn.Tabs) -> None:
    """The whole view once the page is there, not only what was changed since: a link made
    before any change names the day too (whose default depends on the record)."""
    query = {"tab": str(tabs.active)}
    for p, q in URL_STATE.items():
        v = selection.param[p].serialize(getattr(selection, p))
        query[q] = v if isinstance(v, str) else json.dumps(v)
    pn.state.location.update_query(**query)
