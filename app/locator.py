"""Where the regions are: a small world map with every region of the dataset outlined
(GeoViews rectangles, plate carrée) and the chosen one filled, over the shipped coastlines.

The coastlines are a plain HoloViews path in the same degrees: GeoViews' own path took
3.5 s to render 10 k vertices on 2 cores, HoloViews' 0.09 s (measured with ``hv.render``).
"""

from __future__ import annotations

from functools import cache

import cartopy.crs as ccrs
import geoviews as gv
import holoviews as hv
import numpy as np

from finescale.app.figures import _lines

STEP = 6  # keep every 6th coastline vertex: ~10 k points, enough at this size


@cache
def _world() -> hv.Path:
    xy = _lines()["coast"]
    gap = np.isnan(xy[:, 0])
    keep = gap | (np.arange(len(xy)) % STEP == 0)  # thin each piece, keep the NaN gaps
    return hv.Path([xy[keep]]).opts(color="#777777", line_width=0.6)


def locator(boxes: dict[str, tuple[float, float, float, float]], chosen: str,
            width: int = 290) -> gv.Overlay:
    """``boxes``: region → (lon0, lat0, lon1, lat1)."""
    lon0 = min(b[0] for b in boxes.values()) - 25
    lon1 = max(b[2] for b in boxes.values()) + 25
    lat0 = max(-90, min(b[1] for b in boxes.values()) - 18)
    lat1 = min(90, max(b[3] for b in boxes.values()) + 18)
    rects = gv.Rectangles([(*b, name) for name, b in boxes.items()], vdims=["region"]).opts(
        fill_alpha=0.0, line_color="#3a7bd5", line_width=1.5)
    pick = gv.Rectangles([boxes[chosen]]).opts(fill_color="#d62728", fill_alpha=0.5,
                                               line_color="#d62728")
    aspect = (lon1 - lon0) * np.cos(np.radians(0.5 * (lat0 + lat1))) / (lat1 - lat0)
    return (_world() * rects * pick).opts(
        projection=ccrs.PlateCarree(), width=width, height=int(width / aspect),
        xlim=(lon0, lon1), ylim=(lat0, lat1), toolbar=None, xaxis=None, yaxis=None,
        title=f"{chosen} (red) and the other regions")
