"""finescale's Python API: xarray in, xarray out.

::

    from finescale.model import api as fs
    ds = fs.open_dataset()                                 # the embedded default
    model = fs.load_checkpoint("area0-JJA-diffusion", ds)  # a shipped name, or a path
    coarse = ds.region("area0").coarse.sel(time=slice("2006-07-01", "2006-07-03"))
    out = fs.downscale(model, coarse, members=2, steps=8)  # (member, time, lat, lon)
    fs.evaluate(out)["r2"]                                 # against its fine truth

The command line (``finescale generate``, ``finescale evaluate``) and the dashboard call the
same functions underneath (:mod:`finescale.model.generation`,
:mod:`finescale.data.evaluation`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from finescale.data import evaluation as ev
from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir, RegionData
from finescale.data.layout import open_dataset as _open_dataset
from finescale.data.readers import check_series, daily_mean, standardize
from finescale.model.config import SamplerConfig
from finescale.model.device import fast_precision, resolve_device
from finescale.model.generation import LoadedModel, generate, load_model
from finescale.model.registry import resolve_checkpoint, shipped_names

__all__ = ["downscale", "evaluate", "load_checkpoint", "open_dataset", "shipped_names"]


def open_dataset(path: str | Path | None = None) -> DatasetDir:
    """A finescale dataset directory (default: ``$FINESCALE_DATA`` or the embedded default,
    after ``finescale data prepare``)."""
    return _open_dataset(path)


def load_checkpoint(name: str | Path, dataset: DatasetDir | None = None,
                    device: str = "auto") -> LoadedModel:
    """A downscaler from a path or a name such as ``area0-JJA-diffusion`` (your checkpoints
    first, then the shipped ones; ``area0-JJA`` alone: the pair's default, its distilled
    student where one fits its diffusion model), validated against ``dataset`` (default:
    the default one): same variable, transform kind and data."""
    ds = dataset if dataset is not None else _open_dataset()
    return load_model(resolve_checkpoint(name), ds, resolve_device(device))


def _coarse_series(coarse: xr.DataArray, variable: str) -> xr.DataArray:
    if not isinstance(coarse, xr.DataArray):
        raise FinescaleError(f"coarse must be an xarray.DataArray, got {type(coarse).__name__}")
    if coarse.name is not None and coarse.name != variable:
        raise FinescaleError(f"coarse holds {coarse.name!r}; the checkpoint was trained on "
                             f"{variable!r}")
    label = "the coarse DataArray"
    da = standardize(coarse.to_dataset(name=variable), variable, label)
    return check_series(daily_mean(da), variable, label)


def _static(model: LoadedModel, static: xr.Dataset | None) -> xr.Dataset:
    if static is None:
        if model.data is None:
            raise FinescaleError("pass static= (a Dataset with 'elevation' on the fine grid)")
        return model.data.static
    if "elevation" not in static:
        raise FinescaleError("static has no variable 'elevation' (on the fine grid)")
    return static


def downscale(model: LoadedModel, coarse: xr.DataArray, *, static: xr.Dataset | None = None,
              members: int = 1, steps: int = SamplerConfig.steps,
              solver: str = SamplerConfig.solver, calls: int = SamplerConfig.calls,
              precision: str = "auto", windows: bool = SamplerConfig.windows, seed: int = 0,
              spinup: int = 0,
              device: str = "auto", progress: bool = False) -> xr.Dataset:
    """Fine fields for every day of ``coarse`` (after ``spinup`` leading days).

    Parameters
    ----------
    model : a :func:`load_checkpoint` result.
    coarse : DataArray (time, lat, lon) of daily (or sub-daily: averaged) coarse fields on a
        regular grid covering the fine grid, in the variable's physical units.
    static : Dataset with ``elevation`` (m) on the fine grid, which sets the output grid;
        default: the grid and layers of the model's region
        (:func:`finescale.data.static_layers.static_on_grid` gives them for any grid).
    members : ensemble size; each member carries its own 40-day history.
    steps, solver : the diffusion model's ODE solver; calls : network calls per map of a
        distilled model (1 or 2).
    precision : ``auto`` (bf16 where the device computes it natively, else fp32), ``fp32``
        or ``bf16``.
    spinup : leading days of ``coarse`` generated only to build the history, not returned.
        Where the fine record of the model's region holds the 40 days before the first
        day, the roll-out starts from them; otherwise from the coarse fields regridded.

    A day outside the years the model was fitted on (its manifest's ``year_span``) is shown
    to the networks as the same day of the year in the nearest fitted year: the date input
    is never extrapolated (docs/reconstruct.md).

    Returns
    -------
    Dataset with ``VAR(member, time, lat, lon)`` on the physical scale, ``VAR_truth`` (the
    region's fine record where it exists, else NaN), ``VAR_coarse`` and CF attributes.
    """
    var = model.variable
    c = _coarse_series(coarse, var)
    if not 0 <= spinup < c.sizes["time"]:
        raise FinescaleError(f"spinup must be in 0..{c.sizes['time'] - 1} (the coarse series "
                             f"has {c.sizes['time']} days), got {spinup}")
    st = _static(model, static)
    lat, lon = st["lat"].values, st["lon"].values
    on_region = model.data is not None and model.data.fine.sizes["lat"] == lat.size and \
        model.data.fine.sizes["lon"] == lon.size and \
        bool((abs(model.data.fine["lat"].values - lat) < 1e-6).all()) and \
        bool((abs(model.data.fine["lon"].values - lon) < 1e-6).all())
    if on_region:
        fine = model.data.fine  # type: ignore[union-attr]
    else:  # another grid: no fine record, the history starts from the coarse fields
        fine = xr.DataArray(
            np.empty((0, lat.size, lon.size), np.float32), name=var, dims=("time", "lat", "lon"),
            coords={"time": pd.DatetimeIndex([]), "lat": lat, "lon": lon})
    region = RegionData(name=model.region, coarse=c, fine=fine, static=st,
                        transform=model.transform.kind)
    ds = DatasetDir(path=Path(f"<{model.region} in memory>"),
                    manifest={"variable": var, "transform": model.transform.kind,
                              "split": model.manifest["split"]},
                    regions={model.region: region})
    days = pd.DatetimeIndex(c["time"].values)
    if precision == "auto":
        precision = fast_precision(resolve_device(device))
    sampler = SamplerConfig(steps=steps, solver=solver, calls=calls, precision=precision,
                            windows=windows)
    return generate(ds, [model], f"{days[spinup]:%Y-%m-%d}", f"{days[-1]:%Y-%m-%d}",
                    members=members, sampler=sampler, seed=seed,
                    device=resolve_device(device), spinup=spinup, progress=progress)


def evaluate(generated: xr.Dataset, truth: xr.DataArray | None = None) -> dict:
    """Scores of a :func:`downscale` result (or any file in that layout) against ``truth``
    (default: its own ``VAR_truth``), on the analysis scale of its transform: R², RMSE,
    MAE, bias, NSE, KGE, CRPS, spread/skill, variogram and spectrum errors."""
    return ev.score(generated, truth=truth)
