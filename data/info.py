"""A short human summary of a dataset (``finescale data info``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data.layout import Dataset


def _grid(da: xr.DataArray) -> str:
    lat, lon = da["lat"].values, da["lon"].values
    return (f"{lat.size} × {lon.size} (lat {lat[0]:.4g}..{lat[-1]:.4g} step "
            f"{np.diff(lat).mean():.4g}°, lon {lon[0]:.4g}..{lon[-1]:.4g} step "
            f"{np.diff(lon).mean():.4g}°)")


def _period(da: xr.DataArray) -> str:
    t = pd.DatetimeIndex(da["time"].values)
    missing = pd.date_range(t[0], t[-1], freq="D").difference(t).size
    return f"{t[0]:%Y-%m-%d} .. {t[-1]:%Y-%m-%d}, {t.size} days, {missing} missing"


def summary(ds: Dataset) -> str:
    m = ds.manifest
    lines = [f"dataset  {ds.path}",
             f"variable {m['variable']} [{m.get('units', '?')}] {m.get('long_name', '')}"]
    gen = m.get("generator")
    if gen:
        lines.append(f"source   generated: {gen['name']} v{gen['version']}, seed "
                     f"{gen['config']['seed']}{', small' if gen['config'].get('small') else ''}")
    else:
        lines.append(f"source   coarse: {m['source']['coarse']}")
        lines.append(f"         fine:   {m['source']['fine']}")
    for name, reg in ds.regions.items():
        lines.append(f"region {name}: {reg.meta.get('description', '')}")
        lines.append(f"  coarse {_grid(reg.coarse)}")
        lines.append(f"         {_period(reg.coarse)}")
        lines.append(f"  fine   {_grid(reg.fine)}")
        lines.append(f"         {_period(reg.fine)}")
        lines.append(f"  static {', '.join(map(str, reg.static.data_vars))}")
    return "\n".join(lines)
