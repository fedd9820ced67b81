"""Entry point for ``panel serve app/main.py``: the data view on the default dataset."""

from __future__ import annotations

import holoviews as hv
import panel as pn
import param
from holoviews.operation.datashader import rasterize

from app.plots import aot_image, coast_borders, extent, shared_clim
from app.state import DataViewState
from data.errors import FinescaleError

hv.extension("bokeh")
pn.extension(notifications=True)


class DataView(pn.viewable.Viewer):
    """Coarse (MERRA-2-like) and fine (G5NR-like) maps of one day, side by side."""

    state = param.ClassSelector(class_=DataViewState)

    @param.depends("state.region", "state.date", "state.log_scale")
    def maps(self) -> pn.viewable.Viewable:
        coarse, fine = self.state.fields()
        shown = [coarse] + ([fine] if fine is not None else [])
        clim = shared_clim(*shown, log=self.state.log_scale)
        lines = coast_borders()
        left = aot_image(coarse, f"coarse (MERRA-2-like) {self.state.date}", clim,
                         self.state.log_scale) * lines
        if fine is None:
            right = hv.Text(0, 0, f"no G5NR-like fine field on {self.state.date}").opts(
                xaxis=None, yaxis=None, title="fine (G5NR-like)")
        else:
            right = rasterize(aot_image(fine, "", clim, self.state.log_scale)).opts(
                title=f"fine (G5NR-like) {self.state.date}", cmap="inferno",
                logz=self.state.log_scale, clim=clim, colorbar=True) * lines
        lim = extent(fine if fine is not None else coarse)
        return pn.pane.HoloViews((left.opts(**lim) + right.opts(**lim)).opts(shared_axes=True),
                                 sizing_mode="stretch_both")

    def __panel__(self) -> pn.viewable.Viewable:
        widgets = pn.Param(self.state, parameters=["region", "date", "log_scale"],
                           widgets={"date": pn.widgets.DatePicker}, show_name=False)
        return pn.Row(pn.Column("## finescale data", widgets, width=260), self.maps,
                      sizing_mode="stretch_both")


def create_app() -> pn.viewable.Viewable:
    try:
        return DataView(state=DataViewState())
    except FinescaleError as err:
        return pn.pane.Alert(f"**finescale**: {err}", alert_type="danger")


create_app().servable(title="finescale")
