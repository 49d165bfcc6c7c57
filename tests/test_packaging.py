"""mm_train installs as a package: the wheel carries conf/ and recipes/, and ``mm-train run`` works from any folder."""
from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, read_metrics

pytestmark = pytest.mark.slow   # builds and installs a wheel, starts the installed commands

def _run(cmd, cwd, env=None, timeout=600):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh venv with the mm_train wheel installed; dependencies come from this interpreter's site-packages."""
    base = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"), str(ROOT)], cwd=base)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((base / "dist").glob("mm_train-*.whl"))
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=base).stdout.strip())
    installed = _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], cwd=base,
                     env=_env(venv))   # without PYTHONPATH, which would show the source tree's mm_train
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # after the install: pip would otherwise see this environment's (editable) mm_train as installed
    reused = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()] + site.getsitepackages()
    (purelib / "reuse_deps.pth").write_text("\n".join(dict.fromkeys(reused)) + "\n")
    return venv


def _env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR", "MM_TRAIN_RECIPE_PATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_wheel_ships_conf_and_recipes_and_runs_from_any_folder(wheel_venv, tmp_path):
    env = _env(wheel_venv)
    where = _run([str(wheel_venv / "bin" / "python"), "-c", "import mm_train.core.locations as l; print(l.CONF_DIR)"],
                 cwd=tmp_path, env=env)
    assert "site-packages" in where.stdout and where.stdout.strip().endswith("mm_train/_conf"), where.stdout + where.stderr

    listed = _run(["mm-train", "recipes", "ls"], cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "quickstart" in listed.stdout and "resnet50_cifar" in listed.stdout

    ran = _run(["mm-train", "run", "+recipe=quickstart", "train.epochs=1"], cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run_dirs = [p.parent for p in (tmp_path / "outputs").rglob("metrics.json")]
    assert len(run_dirs) == 1
    assert read_metrics(run_dirs[0])["final"]["acc"] > 0.5


@pytest.mark.parametrize("command", [["-m", "mm_train"], ["-m", "mm_train.commands", "run"], [str(ROOT / "run.py")]])
def test_python_m_mm_train_and_mm_train_run_are_run_py(command, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HYDRA_FULL_ERROR", None)
    result = _run([sys.executable, *command, "+recipe=quickstart", "task=summary", f"hydra.run.dir={tmp_path}/run"],
                  cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "trainable" in result.stdout.lower() or "param" in result.stdout.lower(), result.stdout
    assert (tmp_path / "run" / "run.log").is_file()
