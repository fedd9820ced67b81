"""What every tab is: a Viewer of the day on screen that declares what it reads — the user's
choice, the page's service (its only way to compute) and the day shown — and draws when it
is open and the day changes, or when it is opened."""

from __future__ import annotations

import panel as pn
import param

from finescale.app.datainfo import DataInfo
from finescale.app.jobview import notify
from finescale.app.selection import Selection
from finescale.app.service import GenerationService
from finescale.app.tabs.shown import Shown
from finescale.data.errors import FinescaleError


class DayView(pn.viewable.Viewer):
    selection = param.ClassSelector(class_=Selection, doc="the user's choice (read here)")
    service = param.ClassSelector(class_=GenerationService,
                                  doc="what the view may compute, and the data's labels")
    shown = param.ClassSelector(class_=Shown, default=None, allow_None=True,
                                doc="the generated day on screen")

    @property
    def info(self) -> DataInfo:
        return self.service.info


class Tab(DayView):
    active = param.Boolean(default=False, doc="the tab is open")

    @param.depends("shown", "active", watch=True)
    def _refresh(self) -> None:
        if not self.active or self.shown is None:
            return
        try:
            self.draw(self.shown)
        except FinescaleError as err:
            notify(str(err))

    def draw(self, shown: Shown) -> None:
        """Show the day (a tab that does not depend on the day has nothing to do)."""
