"""The Ensemble tab: per-pixel spread and every member on the maps' colour scale."""

from __future__ import annotations

import panel as pn

from finescale.app.live import EnsembleMaps, ensemble_shape
from finescale.app.tabs.base import Tab
from finescale.app.tabs.shown import Shown


class EnsembleTab(Tab):
    def __init__(self, **params):
        super().__init__(**params)
        self.maps: EnsembleMaps | None = None
        # every gallery built, kept: a new day or a region's return reuses its figures
        # (BokehJS 3.9 never prunes the models the server dropped: ~130 per gallery)
        self.built: dict[tuple, EnsembleMaps] = {}
        self.head = pn.pane.Markdown()
        self.pane = pn.Column(sizing_mode="stretch_width")

    def draw(self, shown: Shown) -> None:
        s, f = self.selection, shown.fields
        n = f["members"].sizes["member"]
        self.head.object = (f"Ensemble of **{n} member{'s' * (n > 1)}** · {s.model} · "
                            f"{s.date}: per-pixel spread, and each member on the maps' "
                            "colour scale")
        args = (f["spread"], f["members"])
        key = (s.region, shown.log, *ensemble_shape(*args))
        m = self.built.get(key)
        if m is not None:
            m.show(*args, shown.clim)  # new data, same figures
        else:
            m = self.built[key] = EnsembleMaps(*args, shown.clim, shown.log,
                                               variable=self.info.variable)
        if m is self.maps:
            return
        self.maps = m
        self.pane.objects = [self.head, m.top, m.gallery]  # the members zoom together

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane
