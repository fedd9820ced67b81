"""The checkpoints a page can use: the shipped ones and the user's, trained on the data
shown. It reads manifests only (no torch), so the page lists its models before any network
is loaded."""

from __future__ import annotations

from pathlib import Path

import param

from finescale.data.errors import FinescaleError
from finescale.data.layout import DatasetDir
from finescale.model.config import MODEL_KINDS
from finescale.model.registry import (
    SHIPPED_DIR,
    CheckpointInfo,
    find_checkpoints,
    user_checkpoint_dir,
)

INTERP = ("interp:bilinear", "interp:nearest", "interp:bicubic")  # baselines, no checkpoint


class Catalogue(param.Parameterized):
    """Downscalers and encoders found in ``dirs`` whose data fingerprint is this dataset's
    (others cannot load). :meth:`refresh` re-scans after a training; watchers of
    ``checkpoints`` hear of it."""

    checkpoints = param.List(default=[], item_type=CheckpointInfo, constant=True,
                             doc="checkpoints that fit the dataset, newest scan")

    def __init__(self, dataset: DatasetDir, dirs: tuple[Path, ...] | None = None, **params):
        super().__init__(**params)
        self.dataset = dataset
        self.dirs = tuple(dirs or (SHIPPED_DIR, user_checkpoint_dir()))
        self.refresh()

    def refresh(self) -> None:
        from finescale.model.datasets import fingerprints

        fp = {r: fingerprints(self.dataset.manifest, r) for r in self.dataset.regions}
        found = [c for c in find_checkpoints(*self.dirs) if c.fingerprint in fp.get(c.region, ())]
        with param.edit_constant(self):
            self.checkpoints = found

    def menu(self, region: str) -> list[str]:
        """The model menu of ``region``: its trained kinds in table order, then
        interpolation."""
        kinds = {c.kind for c in self.checkpoints if c.region == region and c.kind != "encoder"}
        return [k for k in MODEL_KINDS if k in kinds] + list(INTERP)

    def path(self, kind: str, region: str, season: str) -> Path | None:
        """The newest matching checkpoint: the user's win over shipped ones."""
        hits = [c for c in self.checkpoints if (c.kind, c.region, c.season) == (
            kind, region, season)]
        hits.sort(key=lambda c: (c.source == "user", c.path.stat().st_mtime))
        return hits[-1].path if hits else None

    def comparable(self, region: str, season: str) -> list[CheckpointInfo]:
        """Every downscaler of ``region`` and ``season`` (shipped and the user's)."""
        return [c for c in self.checkpoints if c.kind != "encoder"
                and (c.region, c.season) == (region, season)]

    def has_models(self) -> bool:
        """Whether any trained downscaler fits this dataset."""
        return any(c.kind != "encoder" for c in self.checkpoints)

    def checked(self, path: Path, region: str, season: str) -> dict:
        """The manifest of ``path`` if it is a downscaler of ``region``, ``season`` and this
        dataset's variable; else one clear error."""
        from finescale.model.checkpoints import read_manifest

        name, m = Path(path).name, read_manifest(Path(path))
        if m.get("kind") == "encoder":
            raise FinescaleError(f"{name} is an encoder, not a downscaler")
        if (m.get("region"), m.get("season")) != (region, season):
            raise FinescaleError(f"{name} is for {m.get('region')} {m.get('season')}; the day "
                                 f"shown is {region} {season}")
        if m.get("variable", self.dataset.variable) != self.dataset.variable:
            raise FinescaleError(f"{name} downscales {m.get('variable')}, this dataset holds "
                                 f"{self.dataset.variable}")
        return m

    def choose(self, region: str, season: str, wanted: str | None, shown: str | None
               ) -> tuple[str, str]:
        """The model to show for ``region`` and ``season`` and a note ('' for none):
        ``wanted`` (the user's pick) where the region has it, else the default — the
        distilled student where the region has students (its skill holds against its
        teacher at ~6× the speed, docs/distillation.md), else the first listed. Students
        exist for some seasons only: there the student's teacher stands in, with a note when
        it replaces a student on screen (``shown``), and the student comes back with a season
        or region that has one."""
        options = self.menu(region)
        student = self.path("distilled", region, season) is not None
        teacher = self.path("diffusion", region, season) is not None
        pick = wanted if wanted in options else (
            "distilled" if "distilled" in options else options[0])
        note = ""
        if pick == "distilled" and student and shown == "diffusion":
            note = f"Showing the distilled model of {region} {season} again."
        if pick != "distilled" or student or not teacher:
            return pick, note  # a distilled pick without student or teacher: validate says so
        if shown == "distilled":  # the page changes what the user sees: say why
            note = (f"No distilled model for {region} {season}: showing its teacher, the "
                    "diffusion model (train one with `finescale train distilled`).")
        return "diffusion", note
