"""What the tests share: running ``run.py`` and ``mm-train`` as a user types them, reading results.

Import from here (``from helpers import run_py``); pytest's fixtures live in conftest.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mm_train.device import set_environment

ROOT = Path(__file__).resolve().parent.parent
set_environment()   # before any test imports MindSpore
os.environ.setdefault("MM_TRAIN_CACHE_DIR", tempfile.mkdtemp(prefix="mm_train_cache_"))   # verified-file markers


def compose(recipe: str, *overrides: str) -> dict:
    """The resolved config ``python run.py +recipe=RECIPE OVERRIDES`` would run (no Hydra run dir)."""
    from omegaconf import OmegaConf

    from mm_train.composition import compose_recipe
    return OmegaConf.to_container(compose_recipe(recipe, list(overrides)), resolve=True)


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


DIGITS = ROOT / "mm_train" / "bundled" / "digits" / "test.mindrecord"


def write_digit_pngs(folder: Path, limit: int | None = None) -> int:
    """The bundled test digits as ``folder/<label>/<i>.png`` (the PNG bytes the MindRecord holds)."""
    import mindspore.dataset as ds
    count = 0
    for row in ds.MindDataset(str(DIGITS), columns_list=["image", "label"], shuffle=False).create_dict_iterator(
            num_epochs=1, output_numpy=True):
        if limit is not None and count >= limit:
            break
        (folder / str(int(row["label"]))).mkdir(parents=True, exist_ok=True)
        (folder / str(int(row["label"])) / f"{count:04d}.png").write_bytes(row["image"].tobytes())
        count += 1
    return count
