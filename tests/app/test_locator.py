"""The sidebar's locator: one SVG picture per choice of region, in an equal-area projection."""

import logging
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from finescale.app.locator import locator_svg

NS = "{http://www.w3.org/2000/svg}"
BOXES = {"area0": (60.0, 29.3, 75.5, 43.25), "area1": (95.0, 30.0, 120.0, 45.0)}


def _polygons(svg: str) -> dict[str, np.ndarray]:
    root = ET.fromstring(svg)
    return {p.get("data-region"): np.array([[float(v) for v in xy.split(",")]
                                            for xy in p.get("points").split()])
            for p in root.iter(f"{NS}polygon")}, root


def test_every_region_is_outlined_and_the_chosen_one_filled():
    svg = locator_svg(BOXES, "area1")
    polys, root = _polygons(svg)
    assert set(polys) == set(BOXES)
    fills = {p.get("data-region"): p.get("fill") for p in root.iter(f"{NS}polygon")}
    assert fills["area0"] == "none" and fills["area1"] != "none"
    w, h = float(root.get("width")), float(root.get("height"))
    for pts in polys.values():  # inside the picture, west of area1 is area0
        assert (pts >= 0).all() and (pts[:, 0] <= w).all() and (pts[:, 1] <= h).all()
    assert polys["area0"][:, 0].max() < polys["area1"][:, 0].min()
    assert len(list(root.iter(f"{NS}polyline"))) > 10  # the coastlines are drawn


def test_outlines_follow_the_projection_and_true_area():
    polys, _ = _polygons(locator_svg(BOXES, "area0"))
    top = polys["area1"][polys["area1"][:, 1] < polys["area1"][:, 1].mean()]
    # a parallel is curved in an azimuthal projection: the top edge's middle is not on the
    # straight line between its ends
    assert np.ptp(top[:, 1]) > 1.0

    def area(p):  # shoelace, px²
        x, y = p[:, 0], p[:, 1]
        return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))

    def sphere_area(b):  # the boxes' true area on the sphere, up to a constant
        return np.radians(b[2] - b[0]) * (np.sin(np.radians(b[3])) - np.sin(np.radians(b[1])))

    ratio = area(polys["area1"]) / area(polys["area0"])
    assert ratio == pytest.approx(sphere_area(BOXES["area1"]) / sphere_area(BOXES["area0"]),
                                  rel=0.02)


def test_a_region_not_in_the_dataset_is_refused():
    with pytest.raises(ValueError, match="area9"):
        locator_svg(BOXES, "area9")


def test_the_picture_is_made_once_per_choice():
    assert locator_svg(BOXES, "area0") is locator_svg(dict(reversed(BOXES.items())), "area0")


def test_the_sidebar_does_without_a_locator_it_cannot_draw(small, monkeypatch, caplog):
    import finescale.app.locator as loc
    from finescale.app.service import open_selection
    from finescale.app.sidebar import Sidebar

    def broken(*_a, **_k):
        raise ValueError("the locator's coastline left the projection's domain")

    monkeypatch.setattr(loc, "locator_svg", broken)
    log = logging.getLogger("finescale.dashboard")  # its own handler, not propagated
    log.addHandler(caplog.handler)
    side = Sidebar(selection=open_selection(small))
    try:
        side._draw_locator()
    finally:
        log.removeHandler(caplog.handler)
    assert "no locator map" in side.locator.object and "<svg" not in side.locator.object
    assert "projection's domain" in caplog.text


def test_the_projection_is_done_once_for_every_choice_of_region(monkeypatch):
    import finescale.app.locator as loc

    calls = []
    project = loc._project_lines
    monkeypatch.setattr(loc, "_project_lines", lambda *a: calls.append(1) or project(*a))
    boxes = {"r1": (10.0, 40.0, 20.0, 50.0), "r2": (25.0, 40.0, 30.0, 45.0)}
    a, b = locator_svg(boxes, "r1", width=200), locator_svg(boxes, "r2", width=200)
    assert len(calls) == 1 and a != b
    cut = [x.split("<polygon")[0] for x in (a, b)]  # all but the outlines: the same picture
    assert cut[0] == cut[1]
