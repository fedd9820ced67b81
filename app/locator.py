"""Where the regions are: a small equal-area map of every region of the dataset (outlined)
and the chosen one (filled) over the shipped coastlines, as one SVG picture.

It is a picture, not a plot: it never changes for a page, so it is made once per process
for each choice of region (cached; the projection once per set of regions) and sent as an
image. As a HoloViews/GeoViews plot it
cost the server ~0.35 s per page (a Bokeh figure's models built, themed and serialised for
every new page) and the browser a fifth figure to build and lay out. GeoViews projects the
region outlines (densified, so their edges curve as they should) and the coastline vertices
into a Lambert azimuthal equal-area projection centred on the regions, where their relative
size and shape are true.
"""

from __future__ import annotations

import html
from functools import cache

import cartopy.crs as ccrs
import geoviews as gv
import numpy as np

from finescale.app.figures import _lines

Box = tuple[float, float, float, float]  # (lon0, lat0, lon1, lat1)
PAD = (25.0, 18.0)  # degrees of context around the regions (lon, lat)
EDGE_POINTS = 24  # points per outline edge: its curve in the projection
MIN_STEP_PX = 1.0  # coastline vertices closer than this on the picture are dropped
OUTLINE, CHOSEN, COAST = "#3a7bd5", "#d62728", "#777777"


def _ring(box: Box) -> np.ndarray:
    """The outline of a lon/lat box, densified: a closed ring of lon/lat points."""
    lon0, lat0, lon1, lat1 = box
    t = np.linspace(0.0, 1.0, EDGE_POINTS, endpoint=False)
    return np.concatenate([
        np.c_[lon0 + (lon1 - lon0) * t, np.full_like(t, lat0)],
        np.c_[np.full_like(t, lon1), lat0 + (lat1 - lat0) * t],
        np.c_[lon1 - (lon1 - lon0) * t, np.full_like(t, lat1)],
        np.c_[np.full_like(t, lon0), lat1 - (lat1 - lat0) * t]])


def _project_rings(rings: list[np.ndarray], crs: ccrs.Projection) -> list[np.ndarray]:
    polys = gv.project(gv.Polygons(rings, crs=ccrs.PlateCarree()), projection=crs)
    return [p.array(p.kdims) for p in polys.split()]


def _project_lines(xy: np.ndarray, crs: ccrs.Projection) -> np.ndarray:
    """NaN-separated lon/lat lines → the same in projected metres (separators kept)."""
    ok = np.isfinite(xy).all(axis=1)
    pts = gv.project(gv.Points(xy[ok], crs=ccrs.PlateCarree()), projection=crs).array()
    if len(pts) != ok.sum():  # a vertex outside the projection's domain: not expected here
        raise ValueError("the locator's coastline left the projection's domain")
    out = np.full_like(xy, np.nan)
    out[ok] = pts
    return out


def _polyline_paths(px: np.ndarray) -> list[str]:
    """Pixel coordinates, NaN-separated → SVG polyline point lists, without the vertices
    that would not move the pen (on a grid of MIN_STEP_PX)."""
    out = []
    for piece in np.split(px, np.flatnonzero(np.isnan(px[:, 0]))):
        piece = piece[np.isfinite(piece[:, 0])]
        if len(piece) < 2:
            continue
        cell = np.round(piece / MIN_STEP_PX)
        piece = piece[np.r_[True, (np.diff(cell, axis=0) != 0).any(axis=1)]]
        if len(piece) > 1:
            out.append(" ".join(f"{x:.0f},{y:.0f}" for x, y in piece))
    return out


@cache
def _drawing(boxes: tuple[tuple[str, Box], ...], width: int
             ) -> tuple[int, list[str], list[str]]:
    """What does not depend on the chosen region, projected once per set of regions:
    (the picture's height, coastline point lists, each region's outline point list)."""
    lon0 = min(b[0] for _, b in boxes) - PAD[0]
    lon1 = max(b[2] for _, b in boxes) + PAD[0]
    lat0 = max(-89.0, min(b[1] for _, b in boxes) - PAD[1])
    lat1 = min(89.0, max(b[3] for _, b in boxes) + PAD[1])
    crs = ccrs.LambertAzimuthalEqualArea(central_longitude=0.5 * (lon0 + lon1),
                                         central_latitude=0.5 * (lat0 + lat1))
    rings = _project_rings([_ring((lon0, lat0, lon1, lat1))] + [_ring(b) for _, b in boxes], crs)
    window, regions = rings[0], rings[1:]
    x0, y0 = window.min(axis=0)
    x1, y1 = window.max(axis=0)
    scale = width / (x1 - x0)
    height = max(1, round((y1 - y0) * scale))

    def to_px(xy: np.ndarray) -> np.ndarray:
        return np.c_[(xy[:, 0] - x0) * scale, (y1 - xy[:, 1]) * scale]

    xy = _lines()["coast"]
    near = ((xy[:, 0] >= lon0 - 10) & (xy[:, 0] <= lon1 + 10)
            & (xy[:, 1] >= lat0 - 10) & (xy[:, 1] <= lat1 + 10))
    coast = _polyline_paths(to_px(_project_lines(np.where(near[:, None], xy, np.nan), crs)))
    outlines = [" ".join(f"{x:.1f},{y:.1f}" for x, y in to_px(ring)) for ring in regions]
    return height, coast, outlines


@cache
def _svg(boxes: tuple[tuple[str, Box], ...], chosen: str, width: int) -> str:
    height, coast, outlines = _drawing(boxes, width)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<rect width="{width}" height="{height}" fill="white" stroke="#bbbbbb"/>',
             f'<g fill="none" stroke="{COAST}" stroke-width="0.6">']
    parts += [f'<polyline points="{p}"/>' for p in coast]
    parts.append("</g>")
    for (name, _), pts in zip(boxes, outlines, strict=True):
        style = (f'fill="{CHOSEN}" fill-opacity="0.5" stroke="{CHOSEN}"' if name == chosen
                 else f'fill="none" stroke="{OUTLINE}"')
        parts.append(f'<polygon data-region="{html.escape(name)}" points="{pts}" {style} '
                     'stroke-width="1.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def locator_svg(boxes: dict[str, Box], chosen: str, width: int = 290) -> str:
    """``boxes``: region → (lon0, lat0, lon1, lat1); the chosen one is filled red."""
    if chosen not in boxes:
        raise ValueError(f"region {chosen!r} is not among {sorted(boxes)}")
    return _svg(tuple(sorted((k, tuple(map(float, b))) for k, b in boxes.items())), chosen,
                width)
