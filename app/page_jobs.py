"""The longer work a page may start for its choice, each run by a tab as a background job:
a roll-out from the day shown, a live evaluation of the season, a training run, and the
domain-similarity table (once per dataset and process)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import xarray as xr

from finescale.app import jobs
from finescale.app.catalogue import INTERP
from finescale.app.selection import Selection, TrainRequest
from finescale.data.errors import FinescaleError
from finescale.data.seasons import season_of

_SIMILARITY = jobs.Once()  # one domain-similarity table per dataset and process


class PageJobs:
    def __init__(self, selection: Selection):
        self.selection = selection
        self.catalogue = selection.catalogue
        self.dataset = selection.dataset

    def rollout(self, days: int, members: int, callback=None, cancel=None) -> xr.Dataset:
        """A strict roll-out of ``days`` from the day shown with the chosen model (its
        checkpoint of each season crossed), the fast sampler at ≤ 8 steps."""
        from finescale.model.generation import generate

        s = self.selection
        if s.model in INTERP:
            raise FinescaleError("pick a trained model for an autoregressive roll-out")
        start = s.day
        end = start + pd.Timedelta(days=days - 1)
        seasons = sorted(set(season_of(pd.date_range(start, end))))
        ckpts = [s.checkpoint(s.model, x) for x in seasons]
        if any(c is None for c in ckpts):
            raise FinescaleError(f"roll-out crosses into {', '.join(seasons)}: a {s.model} "
                                 "checkpoint is missing for one of them")
        sampler = replace(s.sampler_config(), protocol="fast", steps=min(s.steps, 8))
        return generate(self.dataset, ckpts, str(start.date()), str(end.date()),
                        members=members, sampler=sampler, seed=s.seed, progress=False,
                        callback=callback, cancel=cancel, region=s.region)

    def evaluate_season(self, settings: dict, callback=None, cancel=None):
        """Every model of the region and season scored on a few test days (``settings``:
        members, days, rollout of ``EvalConfig``)."""
        from finescale.model.evaluation import EvalConfig, evaluate

        s = self.selection
        kinds = dict.fromkeys(c.kind for c in self.catalogue.checkpoints if c.kind != "encoder")
        paths = [p for p in (s.checkpoint(k, s.season) for k in kinds) if p is not None]
        cfg = EvalConfig(sampler=s.sampler_config(), seed=s.seed, **settings)
        return evaluate(self.dataset, paths, cfg, progress=False, cancel=cancel,
                        callback=callback)

    def train(self, request: TrainRequest, callback=None, cancel=None) -> Path:
        """Train ``request.stage`` for the region and season shown into the user's
        checkpoint folder (with the user's encoder of that pair if there is one, else the
        shipped one)."""
        from finescale.model.checkpoints import checkpoint_name
        from finescale.model.config import get_preset, override
        from finescale.model.device import resolve_device
        from finescale.model.registry import user_checkpoint_dir
        from finescale.model.training import TrainSpec, train_downscaler, train_encoder

        s, t = self.selection, request
        preset = get_preset(t.preset)
        preset = override(preset, encoder=override(preset.encoder, epochs=t.epochs,
                                                   steps_per_epoch=t.steps),
                          downscaler=override(preset.downscaler, epochs=t.epochs,
                                              steps_per_epoch=t.steps))
        out = user_checkpoint_dir()
        enc = out / f"{checkpoint_name(s.region, s.season, 'encoder')}.safetensors"
        if not enc.exists():
            enc = s.checkpoint("encoder", s.season) or enc
        spec = TrainSpec(kind=t.stage, region=s.region, season=s.season, preset=preset,
                         out_dir=out, device=resolve_device("auto"), encoder_path=enc,
                         command=f"dashboard: {t.stage} {s.region} {s.season} {t.preset}")
        fn = train_encoder if t.stage == "encoder" else train_downscaler
        return fn(self.dataset, spec, progress=False, callback=callback, cancel=cancel)

    def similarity(self, wake=None) -> jobs.Job:
        """The domain-similarity table: read from DATA/similarity.csv (what ``finescale data
        similarity`` writes), else computed once per process in the background (about 2
        minutes for the default data on 2 cores) and saved there; ``wake`` is called when it
        is ready."""
        from finescale.data.similarity import similarity_table

        dataset = self.dataset

        def load(job: jobs.Job) -> pd.DataFrame:
            csv = Path(dataset.path) / "similarity.csv"
            if csv.exists():
                return pd.read_csv(csv).round(4)
            table = similarity_table(dataset)
            try:
                tmp = csv.with_name(".similarity.csv.tmp")
                table.to_csv(tmp, index=False, float_format="%.6f")
                tmp.replace(csv)
            except OSError:
                pass  # a read-only data directory: keep it in memory only
            return table.round(4)

        return _SIMILARITY.get(str(dataset.path), "similarity", load, wake)
