"""The Maps tab: coarse | generated | truth and their difference, large and geographic,
with the probe (click a point, drag a box) below."""

from __future__ import annotations

import panel as pn

from finescale.app.live import LiveMaps
from finescale.app.state import INTERP
from finescale.app.tabs.probe import ProbePanel
from finescale.app.tabs.shown import Shown


class MapsTab(pn.viewable.Viewer):
    def __init__(self, board, **params):
        super().__init__(**params)
        self.board = board
        self.live: LiveMaps | None = None
        # every region's figures, kept: going back to a region shows its figures again
        # instead of new ones (BokehJS 3.9 never prunes the models the server dropped)
        self.built: dict[tuple[str, bool], LiveMaps] = {}
        self._probed_in = ""  # the region key of the maps the probe belongs to
        self.pane = pn.Column(sizing_mode="stretch_width")
        self.probe = ProbePanel(board)
        self.lower = pn.Row(sizing_mode="stretch_width")  # the difference map, the probe

    def titles(self) -> dict[str, str]:
        s = self.board.state
        what = "ensemble mean" if s.show == "mean" else f"member {s.show}"
        return {"coarse": f"coarse input · {s.date}",
                "generated": f"{s.model} · {what}",  # the day is in the other titles
                "truth": f"{s.truth_name} truth · {s.date}",
                "no_truth": f"No {s.truth_name} field\nexists for {s.date}:\nthe middle map "
                            "is\n" + ("interpolated\nfrom the coarse field" if s.model in INTERP
                                      else "an autoregressive\nreconstruction")}

    def draw(self, shown: Shown) -> None:
        s = self.board.state
        key = f"_{s.region}"
        live = self.built.get((key, shown.log))
        if live is not None:
            live.show(shown.fields, self.titles(), shown.clim)  # new data, same figures
        else:  # new region (other axes) or colour scale (other mapper): new figures
            live = self.built[key, shown.log] = LiveMaps(
                shown.fields, self.titles(), shown.clim, shown.log, scale=s.scale,
                label=s.scale_label, units_label=f"{s.dataset.variable} [{s.dataset.units}]")
            for name in ("coarse", "generated", "truth", "diff"):
                live.maps[name].on_probe(self.probe.point, self.probe.box)
        if live is not self.live:
            self.live = live
            self.pane.objects = [live.top]
            self.lower.objects = [live.diff, self.probe]
        if key != self._probed_in:  # another region: the probed point is not on its maps
            self.probe.reset()
            self._probed_in = key
        self.probe.draw()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.pane, self.lower, sizing_mode="stretch_width")
