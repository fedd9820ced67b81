"""The one autoregressive roll-out: day after day, each member carrying its own history.

For every day the model is conditioned on the coarse field of that day, the static planes
and (for transfer models) the frozen encoder's features of the previous ``history`` fine
fields. Generated days replace the truth in that history (*strict*), unless the truth is fed
back where it exists. Used by ``generate``, ``reconstruct``, ``evaluate``, ``bench`` and the
dashboard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import torch

from finescale.data.errors import FinescaleError
from finescale.data.seasons import season_of
from finescale.model.config import SamplerConfig
from finescale.model.datasets import SeasonData
from finescale.model.inference import Run


def warm_history(sd: SeasonData, day: pd.Timestamp, history: int) -> np.ndarray:
    try:  # all days in the fine record: one contiguous read (cheap also from disk)
        return np.ascontiguousarray(sd.fine_history(day, history))
    except FinescaleError:
        pass
    days = pd.date_range(end=day - pd.Timedelta(days=1), periods=history, freq="D")
    out = np.empty((history, *sd.shape), dtype=np.float32)
    for k, d in enumerate(days):
        i = sd.fine_days.get_indexer([d])[0]
        # before the coarse record (a user's short series): persist its first field
        out[k] = sd.fine[i] if i >= 0 else sd.base(max(d, sd.coarse_days[0]))
    return out


def cold_history(sd: SeasonData, start: pd.Timestamp, history: int) -> np.ndarray:
    """The history of a cold start: the coarse fields regridded to the fine grid (the first
    one persisted before the coarse record begins), whether or not fine fields exist."""
    first = sd.coarse_days[0]
    past = pd.date_range(end=start - pd.Timedelta(days=1), periods=history, freq="D")
    return np.stack([sd.base(max(d, first)) for d in past])


def rollout(run: Run, days: pd.DatetimeIndex, history: np.ndarray, members: int,
            sampler: SamplerConfig, seed: int, *, discard: int = 0, feed_truth: bool = False,
            fallback: str | None = None, cancel: threading.Event | None = None,
            on_day: Callable[[int, int], None] | None = None, state: dict | None = None
            ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (index among the kept days, physical fields (member, lat, lon)) for ``days``
    after the first ``discard`` (spin-up) days.

    ``history`` (H, lat, lon) is every member's starting history (normalised), or each
    member's own (member, H, lat, lon). ``state["history"]`` receives the members'
    history after the last day (to continue the roll-out elsewhere). With
    ``feed_truth`` the true field enters the history where it exists. A day whose season
    has no model uses ``fallback``'s (spin-up days before a season's first day). Only the
    history is kept, so memory does not grow with the period.
    """
    hist = torch.from_numpy(np.ascontiguousarray(history, dtype=np.float32))
    # one shared history stays one row, expanded, while every member's history is the same
    # (Run.step encodes it once): until the first generated day enters it
    hist = (hist if hist.ndim == 4 else hist[None].expand(members, -1, -1, -1)).to(run.device)
    with torch.no_grad():
        for n, day in enumerate(days):
            if cancel is not None and cancel.is_set():
                raise FinescaleError("generation cancelled")
            season = season_of([day])[0]
            season = season if season in run.by_season or fallback is None else fallback
            x = run.step(day, hist, sampler, seed, season=season)
            nxt = x
            if feed_truth:
                sd = run.sds[season]
                i = sd.fine_days.get_indexer([day])[0]
                if i >= 0:
                    nxt = torch.from_numpy(sd.fine[i]).to(run.device).expand_as(x)
            if hist.stride(0) == 0 and nxt.stride(0) == 0:  # the truth again, for everyone
                hist = torch.cat([hist[:1, 1:], nxt[:1, None]], dim=1).expand_as(hist)
            else:
                hist = torch.cat([hist[:, 1:], nxt[:, None]], dim=1)
            if n >= discard:
                yield n - discard, run.physical(day, x, season=season)
            if on_day:
                on_day(n + 1, len(days))
    if state is not None:
        state["history"] = hist.contiguous().cpu().numpy()  # one row per member
