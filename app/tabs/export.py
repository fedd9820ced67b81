"""The Export tab: the day's ensemble as NetCDF (finescale's CF layout) and the maps as PNG."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import panel as pn

from finescale.app.figures import maps_png


class ExportTab(pn.viewable.Viewer):
    def __init__(self, board, **params):
        super().__init__(**params)
        self.board = board
        self.netcdf = pn.widgets.FileDownload(callback=self._netcdf, filename="finescale.nc",
                                              label="Download ensemble (NetCDF)",
                                              button_type="success")
        self.png = pn.widgets.FileDownload(callback=self._png, filename="finescale.png",
                                           label="Download maps (PNG)")

    def _netcdf(self) -> io.BytesIO:
        from finescale.data.layout import write_netcdf

        shown = self.board.shown
        if shown is None:
            return io.BytesIO(b"")
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "out.nc"
            write_netcdf(shown.result, p)
            return io.BytesIO(p.read_bytes())

    def _png(self) -> io.BytesIO:
        shown, s = self.board.shown, self.board.state
        if shown is None:
            return io.BytesIO(b"")
        return io.BytesIO(maps_png(shown.fields, f"{s.region} {s.date} · {s.model}",
                                   shown.log, label=f"{s.dataset.variable} [{s.dataset.units}]"))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.netcdf, self.png)
