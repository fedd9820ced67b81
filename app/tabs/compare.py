"""The Compare tab: a swipe between any two of coarse / a member / the ensemble mean / truth /
another model, and two checkpoints side by side (:mod:`app.tabs.checkpoints`)."""

from __future__ import annotations

import panel as pn

from finescale.app.catalogue import INTERP
from finescale.app.jobview import JobView
from finescale.app.live import Frame, MapGroup
from finescale.app.plots import shared_clim
from finescale.app.tabs.base import Tab
from finescale.app.tabs.checkpoints import CheckpointPair
from finescale.app.tabs.shown import Shown
from finescale.data.evaluation import mean_field

SWIPE_WIDTH = 620  # px of the swipe's frame: one large map


class CompareTab(Tab):
    def __init__(self, **params):
        super().__init__(**params)
        self.others: dict[str, object] = {}  # other models' ensembles of the day shown
        self.left = pn.widgets.Select(name="Left", width=220)
        self.right = pn.widgets.Select(name="Right", width=220)
        self._syncing = False  # options being replaced: draw once, after
        for w in (self.left, self.right):
            w.param.watch(lambda _e: self._syncing or self._draw_swipe(), "value")
        self.swipe = pn.Column(sizing_mode="stretch_width")
        self.other_job = JobView(on_result=self._other_ready)
        self.pair = CheckpointPair(selection=self.selection, service=self.service)
        self._shown: Shown | None = None
        self._group: tuple[tuple, MapGroup] | None = None  # the swipe's maps, kept per region

    # --- swipe ----------------------------------------------------------------------------
    def draw(self, shown: Shown) -> None:
        s = self.selection
        if self._shown is None or self._shown.result is not shown.result:
            self.others = {}
        self._shown = shown
        n = shown.fields["members"].sizes["member"]
        models = [m for m in s.param.model.objects if m != s.model]
        opts = ["coarse", "ensemble mean", *[f"member {i}" for i in range(n)],
                *(["truth"] if shown.fields["truth"] is not None else []),
                *[f"model {m}" for m in models]]
        keep = (self.left.value, self.right.value)  # a choice survives a new day
        default = ("ensemble mean", "truth" if "truth" in opts else "coarse")
        self._syncing = True
        try:
            self.left.options, self.right.options = opts, opts
            self.left.value = keep[0] if keep[0] in opts else default[0]
            self.right.value = keep[1] if keep[1] in opts else default[1]
        finally:
            self._syncing = False
        self.pair.draw(shown)
        self._draw_swipe()

    def _field(self, name: str):
        f, transform = self._shown.fields, self.info.transform
        if name == "coarse":
            return f["coarse"]
        if name == "truth":
            return f["truth"]
        if name == "ensemble mean":
            return mean_field(f["members"], transform)
        if name.startswith("member "):
            return f["members"].sel(member=int(name.split()[1]))
        model = name.split(" ", 1)[1]
        if model not in self.others:
            self._start_other(model)
            return None
        return mean_field(self.others[model][self.info.variable].isel(time=0), transform)

    def _start_other(self, model: str) -> None:
        s, service = self.selection, self.service
        if self.other_job.running:
            return
        if model in INTERP:
            self.others[model] = service.interpolate(model)
            return
        path = s.checkpoint(model, s.season)
        self.other_job.start("generate", f"Generating {model} for {s.date}", lambda job: (
            model, service.generate(checkpoint=path, callback=job.on_progress,
                                    cancel=job.cancel)))

    def _other_ready(self, result) -> None:
        model, ds = result
        self.others[model] = ds
        self._draw_swipe()

    def _draw_swipe(self) -> None:
        if self._shown is None or not self.left.value or not self.right.value:
            return
        a, b = self._field(self.left.value), self._field(self.right.value)
        if a is None or b is None:  # another model is being generated
            a = a if a is not None else self._field("coarse")
            b = b if b is not None else self._field("coarse")
            if a is None or b is None:
                return
        log = self._shown.log
        clim = shared_clim(a, b, log=log)
        title = f"{self.left.value} ◀ ▶ {self.right.value}"
        frames = {"swipe-left": Frame(a, clim, title), "swipe-right": Frame(b, clim, title)}
        key = (self.selection.region, log)
        if self._group is not None and self._group[0] == key:  # same figures, new data
            group = self._group[1]
            for name, frame in frames.items():
                group.maps[name].show(frame, group.view())
            return
        group = MapGroup(self._shown.fields["generated"])
        panes = [group.add(name, frame, log, width=SWIPE_WIDTH, responsive=False).pane
                 for name, frame in frames.items()]
        self._group = (key, group)
        self.swipe.objects = [pn.Swipe(*panes, value=50)]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("#### Swipe: drag the handle to compare two maps of the day"),
            pn.Row(self.left, self.right, self.other_job), self.swipe,
            self.pair, sizing_mode="stretch_width")
