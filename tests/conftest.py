"""pytest fixtures shared by the tests, and the environment every test runs in (plain helpers are in helpers.py).

MindSpore reads its environment variables (oneDNN's ISA, log level) when it loads, and refuses
``set_device`` once a kernel has run: both are set here, before any test module is imported or runs.
"""
from __future__ import annotations

import gc
import os
import sys
import tempfile
from pathlib import Path

import pytest

from mm_train.data.synthetic import write_cifar10


def pytest_configure(config):
    """Before test modules are collected (some import MindSpore at the top)."""
    from mm_train.core.device import set_environment
    set_environment()
    if not Path(sys.argv[0]).is_file():   # a pytest-xdist worker runs as `python -c`: MindSpore's compile cache
        sys.argv[0] = pytest.__file__     # reads the main script's source from sys.argv[0]
    os.environ.setdefault("MM_TRAIN_CACHE_DIR", tempfile.mkdtemp(prefix="mm_train_cache_"))   # verified-file markers


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """After each test, what is still alive is frozen out of the garbage collector's full passes.

    MindSpore runs a full ``gc.collect()`` before every graph compile; in a test process holding MindSpore,
    Hydra, onnx and what earlier tests built, each walks 150k+ objects (0.4-0.7 s, growing): measured on
    three files, 62 s of collection against 4 s frozen. Collecting before each freeze keeps this test's
    garbage out of it; at the end of a module everything is thawed and collected once, so what the module's
    fixtures held is freed as before (the same peak memory was measured either way).
    """
    yield
    if nextitem is None or nextitem.module is not item.module:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True, scope="session")
def cpu_device():
    """The device for every test that runs a kernel in this process (and for in-process runs)."""
    import mindspore as ms
    ms.set_device("CPU")


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
