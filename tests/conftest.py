"""Shared fixtures: a small generated dataset built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from finescale.data.generator import GeneratorConfig, prepare
from finescale.data.layout import DatasetDir, open_dataset
from finescale.model.config import get_preset
from finescale.model.distill import DistillConfig, distill
from finescale.model.training import TrainSpec, train_downscaler, train_encoder


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "small"
    return prepare(out, GeneratorConfig(small=True), progress=False)


@pytest.fixture(scope="session")
def small(small_dir: Path) -> DatasetDir:
    return open_dataset(small_dir)


@pytest.fixture(scope="session")
def device() -> torch.device:
    return torch.device("cpu")


@pytest.fixture(scope="session")
def ckpts(small, tmp_path_factory, device) -> dict[str, Path]:
    """Every stage and baseline trained for a few steps on the small default."""
    out = tmp_path_factory.mktemp("ckpt")
    preset = get_preset("test")
    enc = train_encoder(small, TrainSpec("encoder", "area1", "JJA", preset, out, device),
                        progress=False)
    paths = {"encoder": enc}
    for kind in ("diffusion", "ablation", "unet", "transfer", "vae"):
        paths[kind] = train_downscaler(
            small, TrainSpec(kind, "area1", "JJA", preset, out, device, encoder_path=enc),
            progress=False)
    return paths



TINY_DISTILL = DistillConfig(epochs=1, steps_per_epoch=2, batch=4, mid_factors=(0.5, 2.0))


@pytest.fixture(scope="session")
def student(small, ckpts, tmp_path_factory, device) -> Path:
    """A consistency-distilled student of ``ckpts["diffusion"]`` (two steps of training)."""
    out = tmp_path_factory.mktemp("student")
    return distill(small, TrainSpec("distilled", "area1", "JJA", get_preset("test"), out, device),
                   ckpts["diffusion"], TINY_DISTILL, progress=False)
