"""pytest fixtures shared by the tests (plain helpers are in helpers.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import ROOT  # noqa: F401  (sets MindSpore's environment before any test imports it)
from mm_train.data.synthetic import write_cifar10


@pytest.fixture(autouse=True, scope="session")
def compile_cache_dir(tmp_path_factory):
    """The session's own graph compile cache (device.compile_cache), not the user's ~/.cache/mm_train."""
    old = os.environ.get("MM_TRAIN_COMPILE_CACHE_DIR")
    os.environ["MM_TRAIN_COMPILE_CACHE_DIR"] = str(tmp_path_factory.mktemp("compile_cache"))
    yield Path(os.environ["MM_TRAIN_COMPILE_CACHE_DIR"])
    if old is None:
        os.environ.pop("MM_TRAIN_COMPILE_CACHE_DIR", None)
    else:
        os.environ["MM_TRAIN_COMPILE_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory) -> Path:
    return write_cifar10(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-bin")
