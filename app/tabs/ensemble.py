"""The Ensemble tab: per-pixel spread and every member on the maps' colour scale."""

from __future__ import annotations

import panel as pn

from finescale.app.live import ensemble_maps
from finescale.app.tabs.shown import Shown


class EnsembleTab(pn.viewable.Viewer):
    def __init__(self, board, **params):
        super().__init__(**params)
        self.board = board
        self.pane = pn.Column(sizing_mode="stretch_width")

    def draw(self, shown: Shown) -> None:
        s, f = self.board.state, shown.fields
        n = f["members"].sizes["member"]
        items = [pn.pane.Markdown(f"Ensemble of **{n} member{'s' * (n > 1)}** · {s.model} · "
                                  f"{s.date}: per-pixel spread, and each member on the maps' "
                                  "colour scale")]
        maps = ensemble_maps(f["spread"], f["members"], shown.clim, shown.log,
                             variable=s.dataset.variable)
        if f["spread"] is None:
            items.append(pn.pane.Markdown("Spread needs ≥ 2 members."))
        else:
            items.append(pn.Row(maps.pop(0).pane, pn.Spacer(), sizing_mode="stretch_width"))
        items.append(pn.GridBox(*[m.pane for m in maps], ncols=4,
                                sizing_mode="stretch_width"))  # members zoom together
        self.pane.objects = items

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane
