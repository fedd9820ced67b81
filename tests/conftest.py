"""Shared fixtures: a small generated dataset built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.generator import GeneratorConfig, prepare
from data.layout import Dataset, open_dataset


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "small"
    return prepare(out, GeneratorConfig(small=True), progress=False)


@pytest.fixture(scope="session")
def small(small_dir: Path) -> Dataset:
    return open_dataset(small_dir)
