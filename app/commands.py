"""Sub-commands beyond ``data``: each module adds a ``register(subparsers)`` here."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from finescale.app.model_commands import register as register_model
from finescale.app.record_commands import register as register_record
from finescale.app.serve import register as register_serve

REGISTER: list[Callable[[argparse._SubParsersAction], None]] = [register_model, register_record,
                                                                   register_serve]

