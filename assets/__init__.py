"""Files shipped with finescale (weights, static layers, coastlines, reports); no code.

Found through :mod:`finescale.data.resources`, never through a path relative to a module.
"""
