"""HoloViews plots drawn once and then updated in place.

A tab that made a new HoloViews object per day got a new Bokeh figure per day, and BokehJS
3.9 keeps every model the server ever sent for the whole session (bokeh/bokeh#15289): the
Diagnostics tab grew the page by ~290 models a day. A :class:`StreamedPlot` puts the plot
function's output behind a ``DynamicMap`` over a ``Pipe``, so a new day sends new data,
ranges and title to the same figure.
"""

from __future__ import annotations

from collections.abc import Callable

import holoviews as hv
import holoviews.plotting.bokeh  # options and plots need the Bokeh backend loaded
import panel as pn


def _layers(obj: hv.core.Dimensioned) -> tuple:
    """What fixes a plot's figure and renderers: its elements' types and labels."""
    items = obj.values() if isinstance(obj, hv.Overlay) else [obj]
    return tuple((type(e).__name__, e.label) for e in items)


def _framewise(obj: hv.core.Dimensioned) -> hv.core.Dimensioned:
    # every element's axes and colour range follow each new frame, not the first one's
    return obj.map(lambda e: e.opts(framewise=True), [hv.Element])


class StreamedPlot:
    """``fn(*args)``'s plot in one pane: :meth:`show` updates the figure in place while the
    plot keeps its layers (element types and labels), and builds a new one when they
    change (a layer that appears later would not be drawn by the first figure)."""

    def __init__(self, fn: Callable[..., hv.core.Dimensioned], **pane_opts) -> None:
        self.fn = fn
        self.pane = pn.pane.HoloViews(**pane_opts)
        self.pipe: hv.streams.Pipe | None = None
        self._layers: tuple | None = None

    def show(self, *args, **kwargs) -> None:
        obj = _framewise(self.fn(*args, **kwargs))
        layers = _layers(obj)
        if self.pipe is not None and layers == self._layers:
            self.pipe.send(obj)  # same figure: new data, ranges and title
            return
        self._layers = layers
        self.pipe = hv.streams.Pipe(data=obj)
        self.pane.object = hv.DynamicMap(lambda data: data, streams=[self.pipe])
