"""Shared fixtures: run ``run.py`` in a subprocess, and small real data sets written to temp dirs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from data_fixtures import write_cifar10

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")   # before any test imports MindSpore
os.environ.setdefault("GLOG_v", "3")


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


def run_py(*overrides: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """``python run.py OVERRIDES...`` as a user types it; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    cwd = cwd or tempfile.mkdtemp(prefix="mm_train_run_")   # Hydra may create outputs/ there
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *overrides], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def mm_train_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """``mm-train ARGS...`` (through ``python -m mm_train.cli``)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mm_train.cli", *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, no traceback, and every fragment in the message."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""


def install_package(source: Path, files: dict[str, str], name: str):
    """Write a small package's files into ``source`` and pip-install it into this environment.

    Yields once installed and uninstalls it afterwards (use with ``yield from``).
    """
    import textwrap
    for rel, text in {"pyproject.toml": PYPROJECT, **files}.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(textwrap.dedent(text).lstrip())
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    done = subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", str(source)],
                          capture_output=True, text=True, timeout=300, cwd=source)
    assert done.returncode == 0, done.stdout + done.stderr
    yield
    subprocess.run([*pip, "uninstall", "-y", name], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory) -> Path:
    return write_cifar10(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-bin")
