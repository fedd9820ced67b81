"""The Export tab: the day's ensemble as NetCDF (finescale's CF layout) and the maps as PNG,
each file named by what it holds, so that downloads of several days or models don't all
arrive as ``finescale (3).nc``."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import panel as pn

from finescale.app.figures import maps_png
from finescale.app.tabs.base import Tab
from finescale.app.tabs.shown import Shown

NOTHING = "*Nothing to export yet: the maps of a day appear first.*"


def stem(label: str, members: int) -> str:
    """``finescale-diffusion-area0-2005-07-02-4m`` from the shown day's label (model · region
    · date, fixed when it was requested): safe as a file name on every system."""
    raw = "-".join(["finescale", *label.split(" · "), f"{members}m"])
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)


def describe(result, variable: str) -> str:
    """What the NetCDF holds, in a scientist's terms: variables, dims, size."""
    lines = []
    for name, da in result.data_vars.items():
        dims = " × ".join(f"{d} {result.sizes[d]}" for d in da.dims)
        what = da.attrs.get("long_name", "")
        lines.append(f"- `{name}` ({dims}){': ' + what if what else ''}")
    mb = result.nbytes / 2**20
    return (f"**NetCDF** (CF-1.8, open with `xarray.open_dataset`): the day's ensemble of "
            f"`{variable}` with its coarse input and the fine truth where there is one, "
            f"≈{mb:.1f} MB before compression:\n" + "\n".join(lines) +
            "\n\n**PNG**: the maps as on screen (coarse | generated | truth, one colour scale).")


class ExportTab(Tab):
    def __init__(self, **params):
        super().__init__(**params)
        self.netcdf = pn.widgets.FileDownload(callback=self._netcdf, filename="finescale.nc",
                                              label="Download ensemble (NetCDF)",
                                              button_type="success", disabled=True)
        self.png = pn.widgets.FileDownload(callback=self._png, filename="finescale.png",
                                           label="Download maps (PNG)", disabled=True)
        self.about = pn.pane.Markdown(NOTHING)

    def draw(self, shown: Shown) -> None:
        name = stem(shown.label, shown.result.sizes.get("member", 1))
        self.netcdf.filename, self.png.filename = f"{name}.nc", f"{name}.png"
        self.netcdf.disabled = self.png.disabled = False
        self.about.object = describe(shown.result, self.info.variable)

    def _netcdf(self) -> io.BytesIO:
        from finescale.data.layout import write_netcdf

        shown = self.shown
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "out.nc"
            write_netcdf(shown.result, p)
            return io.BytesIO(p.read_bytes())

    def _png(self) -> io.BytesIO:
        shown = self.shown
        return io.BytesIO(maps_png(shown.fields, shown.label, shown.log,
                                   label=self.info.units_label))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(pn.Row(self.netcdf, self.png), self.about)
