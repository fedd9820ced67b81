"""Scores over named dimensions: one ``xarray`` wrapper per kernel of :mod:`.scores`.

As in xskillscore: ``score(forecast, truth, dim=None)`` reduces ``dim`` (all of the truth's
dimensions when ``None``) and keeps the others, so ``r2(mean, truth, dim=("lat", "lon"))`` is
one R² per day. Ensemble scores take the members along ``member_dim``. Inputs are aligned
(inner join) first; dask arrays stay lazy (``xr.apply_ufunc(dask="parallelized")``, the
reduced dimensions in one chunk each).

Scores are taken on whatever scale the inputs are on: pass
:func:`finescale.data.transforms.analysis` values (log10 for log data) to score as the paper.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np
import xarray as xr

from finescale.data import scores

Dim = Hashable | Sequence[Hashable] | None


def _dims(truth: xr.DataArray, dim: Dim) -> list[Hashable]:
    if dim is None:
        return list(truth.dims)
    dims = [dim] if isinstance(dim, str) or not isinstance(dim, Sequence) else list(dim)
    missing = [d for d in dims if d not in truth.dims]
    if missing:
        raise ValueError(f"dimension(s) {missing} not in the truth's {truth.dims}")
    return dims


def _apply(kernel: Callable, args: list[xr.DataArray], core: list[list[Hashable]],
           ndim: int, **kwargs) -> xr.DataArray:
    axis = tuple(range(-ndim, 0))
    return xr.apply_ufunc(kernel, *args, input_core_dims=core, kwargs={"axis": axis, **kwargs},
                          dask="parallelized", output_dtypes=[np.float64],
                          dask_gufunc_kwargs={"allow_rechunk": True})


def _deterministic(kernel: Callable) -> Callable:
    def score(forecast: xr.DataArray, truth: xr.DataArray, dim: Dim = None) -> xr.DataArray:
        forecast, truth = xr.align(forecast, truth, join="inner")
        dims = _dims(truth, dim)
        return _apply(kernel, [forecast, truth], [dims, dims], len(dims))

    score.__name__ = kernel.__name__
    score.__doc__ = (f"{kernel.__doc__ or kernel.__name__.upper()}\n\n"
                     "Over ``dim`` of ``forecast`` and ``truth`` (all of the truth's dims "
                     "when None).")
    return score


def _ensemble(kernel: Callable) -> Callable:
    def score(ensemble: xr.DataArray, truth: xr.DataArray, dim: Dim = None,
              member_dim: Hashable = "member") -> xr.DataArray:
        if member_dim not in ensemble.dims:
            raise ValueError(f"the ensemble has no {member_dim!r} dimension ({ensemble.dims})")
        ensemble, truth = xr.align(ensemble, truth, join="inner")
        dims = _dims(truth, dim)
        return _apply(kernel, [ensemble, truth], [[member_dim, *dims], dims], len(dims),
                      m_axis=-(len(dims) + 1))

    score.__name__ = kernel.__name__
    score.__doc__ = (f"{kernel.__doc__}\n\nMembers along ``member_dim``; over ``dim`` of the "
                     "truth (all of its dims when None).")
    return score


r2 = _deterministic(scores.r2_pearson)
r2_cod = _deterministic(scores.r2_score)
nse = _deterministic(scores.nse)
rmse = _deterministic(scores.rmse)
mae = _deterministic(scores.mae)
bias = _deterministic(scores.bias)
kge = _deterministic(scores.kge)
crps = _ensemble(scores.crps)
spread_skill = _ensemble(scores.spread_skill)


def spread(ensemble: xr.DataArray, dim: Dim = None, member_dim: Hashable = "member"
           ) -> xr.DataArray:
    """Root of the mean ensemble variance (ddof = 1) over ``dim``; 0 for one member."""
    dims = [d for d in ensemble.dims if d != member_dim] if dim is None else \
        _dims(ensemble, dim)
    return _apply(scores.spread, [ensemble], [[member_dim, *dims]], len(dims),
                  m_axis=-(len(dims) + 1))


DETERMINISTIC = {"r2": r2, "r2_cod": r2_cod, "rmse": rmse, "mae": mae, "bias": bias,
                 "nse": nse, "kge": kge}
ENSEMBLE = {"crps": crps, "spread_skill": spread_skill}
