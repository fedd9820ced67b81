"""Dashboard state: a param class with bounded, documented parameters and no widgets."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import param
import xarray as xr

from data.layout import Dataset, open_dataset


class DataViewState(param.Parameterized):
    """Which region and day to show, and how to colour it."""

    region = param.Selector(default=None, objects=[], doc="study region")
    date = param.CalendarDate(default=None, doc="day to show (coarse record)")
    log_scale = param.Boolean(default=True, doc="logarithmic colour scale")

    def __init__(self, dataset: Dataset | None = None, **params):
        self.dataset = dataset if dataset is not None else open_dataset()
        names = list(self.dataset.regions)
        super().__init__(**params)
        self.param.region.objects = names
        if self.region is None:
            self.region = names[0]
        self._update_bounds()

    @param.depends("region", watch=True)
    def _update_bounds(self) -> None:
        reg = self.dataset.region(self.region)
        t = pd.DatetimeIndex(reg.coarse["time"].values)
        self.param.date.bounds = (t[0].date(), t[-1].date())
        fine_t = pd.DatetimeIndex(reg.fine["time"].values)
        if self.date is None or not (t[0].date() <= self.date <= t[-1].date()):
            self.date = fine_t[len(fine_t) // 2].date()

    def fields(self) -> tuple[xr.DataArray, xr.DataArray | None]:
        """The coarse map of the day and the fine map (None where no fine record exists)."""
        reg = self.dataset.region(self.region)
        day = pd.Timestamp(self.date if self.date else dt.date.today())
        coarse = reg.coarse.sel(time=day).load()
        fine_t = pd.DatetimeIndex(reg.fine["time"].values)
        fine = reg.fine.sel(time=day).load() if day in fine_t else None
        return coarse, fine
