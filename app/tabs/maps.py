"""The Maps tab: coarse | generated | truth and their difference, large and geographic,
with the probe (click a point, drag a box) below."""

from __future__ import annotations

import panel as pn

from finescale.app.catalogue import INTERP
from finescale.app.live import LiveMaps
from finescale.app.tabs.base import Tab
from finescale.app.tabs.probe import ProbePanel
from finescale.app.tabs.shown import Shown


class MapsTab(Tab):
    def __init__(self, **params):
        super().__init__(**params)
        self.live: LiveMaps | None = None
        # every region's figures, kept: going back to a region shows its figures again
        # instead of new ones (BokehJS 3.9 never prunes the models the server dropped)
        self.built: dict[tuple[str, bool], LiveMaps] = {}
        self._probed_in = ""  # the region key of the maps the probe belongs to
        self.pane = pn.Column(sizing_mode="stretch_width")
        self.probe = ProbePanel(selection=self.selection, service=self.service)
        self.lower = pn.Row(sizing_mode="stretch_width")  # the difference map, the probe

    def titles(self) -> dict[str, str]:
        s, truth = self.selection, self.info.truth_name
        what = "ensemble mean" if s.show == "mean" else f"member {s.show}"
        return {"coarse": f"coarse input · {s.date}",
                "generated": f"{s.model} · {what}",  # the day is in the other titles
                "truth": f"{truth} truth · {s.date}",
                "no_truth": f"No {truth} field\nexists for {s.date}:\nthe middle map "
                            "is\n" + ("interpolated\nfrom the coarse field" if s.model in INTERP
                                      else "an autoregressive\nreconstruction")}

    def draw(self, shown: Shown) -> None:
        s, info = self.selection, self.info
        key = f"_{s.region}"
        live = self.built.get((key, shown.log))
        if live is not None:
            live.show(shown.fields, self.titles(), shown.clim)  # new data, same figures
        else:  # new region (other axes) or colour scale (other mapper): new figures
            live = self.built[key, shown.log] = LiveMaps(
                shown.fields, self.titles(), shown.clim, shown.log, scale=info.scale,
                label=info.scale_label, units_label=info.units_label)
            for name in ("coarse", "generated", "truth", "diff"):
                live.maps[name].on_probe(self.probe.point, self.probe.box)
        if live is not self.live:
            self.live = live
            self.pane.objects = [live.top]
            self.lower.objects = [live.diff, self.probe]
        if key != self._probed_in:  # another region: the probed point is not on its maps
            self.probe.reset()
            self._probed_in = key
        self.probe.shown = shown
        self.probe.draw()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.pane, self.lower, sizing_mode="stretch_width")
