"""pytest fixtures shared by the tests (plain helpers are in helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import ROOT  # noqa: F401  (sets MindSpore's environment before any test imports it)
from mm_train.data.synthetic import write_cifar10


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory) -> Path:
    return write_cifar10(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-bin")
