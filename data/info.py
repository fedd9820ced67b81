"""``finescale data info``: a short human summary of a dataset, or of any raw store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir


def _grid(da: xr.DataArray) -> str:
    lat, lon = da["lat"].values, da["lon"].values
    return (f"{lat.size} × {lon.size} (lat {lat[0]:.4g}..{lat[-1]:.4g} step "
            f"{np.diff(lat).mean():.4g}°, lon {lon[0]:.4g}..{lon[-1]:.4g} step "
            f"{np.diff(lon).mean():.4g}°)")


def _period(da: xr.DataArray) -> str:
    t = pd.DatetimeIndex(da["time"].values)
    missing = pd.date_range(t[0], t[-1], freq="D").difference(t).size
    return f"{t[0]:%Y-%m-%d} .. {t[-1]:%Y-%m-%d}, {t.size} days, {missing} missing"


def summary(ds: DatasetDir) -> str:
    m = ds.manifest
    lines = [f"dataset  {ds.path}",
             f"variable {m['variable']} [{m.get('units', '?')}] {m.get('long_name', '')}",
             f"transform {m.get('transform', 'log')} ({m.get('transform_reason', 'default')})"]
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


def _spacing(values: np.ndarray) -> str:
    steps = np.diff(values)
    if steps.size == 0:
        return "1 point"
    regular = np.allclose(steps, steps.mean(), rtol=1e-3, atol=1e-6)
    return (f"{values.min():.4g}..{values.max():.4g}, step {abs(steps.mean()):.4g}°"
            + ("" if regular else " (IRREGULAR)"))


def _time_axis(t: pd.DatetimeIndex) -> str:
    if t.size < 2:
        return f"{t[0]:%Y-%m-%d %H:%M}, 1 step"
    step = pd.Series(t).diff().median()
    return f"{t[0]:%Y-%m-%d %H:%M} .. {t[-1]:%Y-%m-%d %H:%M}, {t.size} steps of {step}"


def file_summary(paths) -> str:
    """What a raw NetCDF file (or glob) or zarr store holds, and whether and how
    ``finescale data import`` can read each gridded variable."""
    from finescale.data.readers import open_store, standardize
    from finescale.data.transforms import choose_transform

    ds, label = open_store(paths)
    lines = [f"store    {label}",
             f"dims     {', '.join(f'{k}={v}' for k, v in ds.sizes.items())}"]
    for name, var in ds.data_vars.items():
        fill = var.attrs.get("_FillValue", var.encoding.get("_FillValue"))
        lines.append(f"variable {name}{tuple(var.dims)} {var.dtype} "
                     f"[{var.attrs.get('units', '?')}] {var.attrs.get('long_name', '')}"
                     + (f" fill={fill:g}" if isinstance(fill, int | float | np.number) else ""))
        try:
            da = standardize(ds, str(name), label)
        except FinescaleError as err:
            lines.append(f"  not importable: {str(err).removeprefix(label + ': ')}")
            continue
        t = pd.DatetimeIndex(da["time"].values)
        lines.append(f"  lat {_spacing(da['lat'].values)}; lon {_spacing(da['lon'].values)}")
        lines.append(f"  time {_time_axis(t)}")
        # a bounded sample (first, middle and last steps) keeps this fast on years of data
        sample = da.isel(time=sorted({0, t.size // 2, t.size - 1})).values
        missing = float(np.isnan(sample).mean())
        finite = sample[np.isfinite(sample)]
        if finite.size == 0:
            lines.append("  sampled steps are all missing: not importable as it is")
            continue
        kind, why = choose_transform(finite, str(name))
        lines.append(f"  values {finite.min():.4g}..{finite.max():.4g}, missing "
                     f"{100 * missing:.1f} % (first, middle and last step)")
        lines.append(f"  importable: --variable {name} (transform {kind}: {why})")
    return "\n".join(lines)


def describe(path) -> str:
    """``finescale data info PATH``: a dataset directory's summary, else a raw store's."""
    from pathlib import Path

    from finescale.data import record
    from finescale.data.layout import open_dataset

    p = Path(path).expanduser()
    if p.is_dir() and (p / "manifest.json").exists():
        return summary(open_dataset(p))
    if p.is_dir() and record.is_record(p):
        return record.summary(p)
    return file_summary(str(p))
