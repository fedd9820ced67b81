"""The dashboard's sidebar: the dataset line, a locator map of the regions, the day (picker
and a player over the season's fine record) and the user's choice — the widgets of
:class:`app.selection.Selection`, its one definition."""

from __future__ import annotations

import html
import logging

import panel as pn
import param

from finescale.app.datainfo import DataInfo
from finescale.app.plots import extent
from finescale.app.selection import Selection

LOG = logging.getLogger("finescale.dashboard")
LOCATOR_WIDTH = 260  # px: the sidebar's widgets' width, indented as they are


class Sidebar(pn.viewable.Viewer):
    selection = param.ClassSelector(class_=Selection, doc="the user's choice, edited here")

    def __init__(self, **params):
        super().__init__(**params)
        self.info = DataInfo(self.selection.dataset)
        self.data_note = pn.pane.Markdown("", styles={"font-size": "0.85em"})
        self.locator = pn.pane.HTML("", width=LOCATOR_WIDTH, margin=(5, 10, 5, 20))
        self._build_widgets()
        self.selection.param.watch(lambda _e: self.describe(), ["region"])
        # the dataset line now, the locator in describe(), after the maps
        self.data_note.object = self.info.note(self.selection.region)

    def describe(self) -> None:
        """The dataset line, and the locator after the maps (it is not needed first)."""
        self.data_note.object = self.info.note(self.selection.region)
        pn.state.execute(self._draw_locator, schedule=True)

    def _draw_locator(self) -> None:
        from finescale.app.locator import locator_svg

        s = self.selection
        boxes = {}
        for r in s.dataset.regions:
            ext = extent(s.dataset.region(r).fine.isel(time=0))
            boxes[r] = (ext["xlim"][0], ext["ylim"][0], ext["xlim"][1], ext["ylim"][1])
        caption = f"{html.escape(s.region)} (red) and the other regions"
        try:
            picture = locator_svg(boxes, s.region, width=LOCATOR_WIDTH)
        except Exception as err:  # a picture the page can do without: a line, not a traceback
            LOG.warning("no locator for regions %s: %s: %s", boxes, type(err).__name__, err)
            caption, picture = "(no locator map for these regions)", ""
        self.locator.object = f'<div style="font-size: 0.85em">{caption}</div>{picture}'

    def _build_widgets(self) -> None:
        s = self.selection
        self.date_picker = pn.widgets.DatePicker.from_param(
            s.param.date, name="Date (any day of the coarse record)")
        # the player fits the sidebar: its five stepping buttons, not Panel's nine (at 510 px
        # they ran past the sidebar's edge)
        self.player = pn.widgets.DiscretePlayer(
            name=self._player_title(), show_value=False, options=self._player_days(),
            value=s.date, interval=1500, loop_policy="once", show_loop_controls=False,
            visible_buttons=["first", "previous", "pause", "play", "next"],
            width=LOCATOR_WIDTH)
        self._moving_player = False  # the page moves the player: not a user's pick
        self.player.param.watch(
            lambda e: None if self._moving_player or not e.new else setattr(s, "date", e.new),
            "value")
        s.param.watch(self._season_player, ["season", "region", "date"])
        self.controls = pn.Param(
            s, parameters=list(Selection.CONTROLS),
            widgets={"members": pn.widgets.IntSlider, "steps": pn.widgets.IntInput,
                     "seed": pn.widgets.IntInput},
            show_name=False)
        for widget in [self.date_picker, *self.controls._widgets.values()]:
            widget.width = LOCATOR_WIDTH  # Panel's 300 px ran past the sidebar's edge
        self._show_applicable()
        s.param.watch(self._show_applicable, ["model", "sampler"])

    def _show_applicable(self, *_: param.parameterized.Event) -> None:
        """Only the controls that change the chosen model's result are shown (a student's
        sidebar offered the teacher's sampler, steps and solver, which it ignores)."""
        use = set(self.selection.applicable())
        for name in Selection.CONTROLS:
            widget = self.controls._widgets.get(name)  # pn.Param's widget of that parameter
            if widget is not None and widget.visible != (name in use):
                widget.visible = name in use

    def _player_days(self) -> list:
        # the shown day is always among the options (also a day outside the season's fine
        # record), so the slider's label never names a day that is not on screen
        return sorted({d.date() for d in self.selection.season_days()} | {self.selection.date})

    def _season_player(self, *_: param.parameterized.Event) -> None:
        # new options first move the player to their first day: that must not move the date
        # (a day picked in another season jumped to that season's first fine day)
        opts = self._player_days()
        self._moving_player = True
        try:
            if self.player.options != opts:
                self.player.options = opts
            if self.player.value != self.selection.date:
                self.player.value = self.selection.date
        finally:
            self._moving_player = False
        # the title carries the day: Panel's own value label is not redrawn when the options
        # change but the slider index does not (it then named a day of the old options)
        self.player.name = self._player_title()

    def _player_title(self) -> str:
        return f"Animate {self.selection.season} (fine record): {self.selection.date}"

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.data_note, self.locator, self.date_picker, self.player,
                         self.controls, width=290)
