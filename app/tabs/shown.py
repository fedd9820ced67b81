"""What the maps show now: the one object the tabs draw from."""

from __future__ import annotations

from dataclasses import dataclass

import xarray as xr


@dataclass(frozen=True)
class Shown:
    """The generated day on screen: the ensemble, the fields drawn from it (see
    :meth:`app.service.GenerationService.fields`), their shared colour range and scale, and
    a label."""

    result: xr.Dataset
    fields: dict
    clim: tuple[float, float]
    log: bool
    label: str
