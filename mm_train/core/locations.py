"""Where mm_train's own config files are: next to the source tree, else inside the installed package.

    CONF_DIR      # conf/ of a checkout (or an editable install), else mm_train/_conf of a wheel
    RECIPES_DIR   # recipes/ likewise, else mm_train/_recipes

A wheel ships conf/ and recipes/ as package data under these names (setup.py's package_dir).
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SOURCE_ROOT = PACKAGE_DIR.parent


def data_dir(name: str) -> Path:
    """``SOURCE_ROOT/name`` in a source tree (it has run.py), else the installed ``mm_train/_name``."""
    source = SOURCE_ROOT / name
    if (SOURCE_ROOT / "run.py").is_file() and source.is_dir():
        return source
    return PACKAGE_DIR / f"_{name}"


CONF_DIR = data_dir("conf")
RECIPES_DIR = data_dir("recipes")
