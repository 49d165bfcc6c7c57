"""The files of a run directory, written atomically: a reader never sees half a file.

    write_json(run_dir / "metrics.json", {"final": {...}, "history": [...]})
    write_text(run_dir / "config.yaml", to_yaml(config))
    write_json(run_dir / "run_info.json", run_info("quickstart", 42, ["train.epochs=3"]))
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import yaml

from mm_train.core.errors import WriteFailed

PROJECT_DIR = Path(__file__).resolve().parents[2]
ENVIRONMENT = ("ONEDNN_MAX_CPU_ISA", "GLOG_v")          # recorded in run_info.json
PACKAGES = ("mindspore", "hydra-core", "omegaconf", "numpy", "mm_train")


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:   # disk full, permission denied: one message naming the file, no .tmp left
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        checkpoints = sorted((p for p in (path.parent / "checkpoints").glob("*.ckpt") if not p.name.startswith(".")),
                             key=lambda p: p.stat().st_mtime) if (path.parent / "checkpoints").is_dir() else []
        raise WriteFailed(path, err, checkpoints[-1] if checkpoints else None) from None
    return path


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file of the run directory ({} when missing, unreadable or not an object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_json(path: Path, data: Any) -> Path:
    """``data`` as indented JSON, atomically."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def to_yaml(config: Mapping[str, Any]) -> str:
    """``config`` (plain containers) as YAML, in its own key order (libyaml's dumper where PyYAML has it)."""
    return yaml.dump(dict(config), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     allow_unicode=True)


def _version(package: str) -> str | None:
    module = sys.modules.get({"hydra-core": "hydra"}.get(package, package))   # imported: no metadata scan (~20 ms)
    if isinstance(getattr(module, "__version__", None), str):
        return module.__version__
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def run_info(recipe: str, seed: int, overrides: list[str]) -> dict[str, Any]:
    """What ``run_info.json`` records: recipe, seed, overrides, git commit, Python, environment, versions."""
    return {"recipe": recipe, "seed": seed, "overrides": overrides, "git_commit": _git_commit(),
            "python": platform.python_version(),
            "environment": {var: os.environ.get(var) for var in ENVIRONMENT},
            "versions": {p: _version(p) for p in PACKAGES}}
