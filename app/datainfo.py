"""What the data shown are, in the words and scale the page uses: the variable, its units,
the value transform and the analysis scale that scores and diagnostics use."""

from __future__ import annotations

from finescale.data.layout import DatasetDir
from finescale.data.seasons import SEASONS
from finescale.data.transforms import analysis, analysis_label


class DataInfo:
    def __init__(self, dataset: DatasetDir):
        self.dataset = dataset

    @property
    def variable(self) -> str:
        return self.dataset.variable

    @property
    def units(self) -> str:
        return self.dataset.units

    @property
    def units_label(self) -> str:
        return f"{self.variable} [{self.units}]"

    @property
    def transform(self) -> str:
        """The dataset's value transform: scores and diagnostics use its analysis scale."""
        return self.dataset.transform

    def scale(self, x):
        return analysis(self.transform, x)

    @property
    def scale_label(self) -> str:
        """e.g. ``log10 DUEXTTAU`` or ``u10 [m s-1]``."""
        return analysis_label(self.transform, self.variable, self.units)

    @property
    def truth_name(self) -> str:
        """What the fine reference is called: G5NR for the embedded default."""
        return "G5NR" if self.dataset.manifest.get("generator") else "fine"

    def note(self, region: str) -> str:
        """One line on the dataset: variable, transform, regions, and the seasons of
        ``region`` with enough fine days to train."""
        ds = self.dataset
        seasons = ds.region(region).meta.get("seasons") or list(SEASONS)
        return (f"**{ds.path.name}** · {ds.variable} [{ds.units}] · transform {ds.transform} · "
                f"regions {', '.join(ds.regions)} · seasons with enough fine days for "
                f"{region}: {', '.join(seasons)}"
                + ("" if ds.manifest.get("generator") else " (imported)"))
