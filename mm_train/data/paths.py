"""How a data path is named in a message: the key that holds it, and what a relative path is relative to.

Data paths are read relative to the working directory the run was started in (``hydra.job.chdir:
false``), never to the recipe file or the run directory::

    path_key({"path": "a", "train": {"path": "b"}}, "train")   # "dataset.train.path"
    tried("data/flowers")   # "data/flowers (relative to the working directory /home/me: /home/me/data/flowers)"
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping


def path_key(dataset: Mapping[str, Any], split: str, name: str = "path", where: str = "dataset") -> str:
    """The key a reader argument of ``split`` comes from: the split's own value wins over the dataset's
    (and an argument set in neither is the split's to set)."""
    own = name in (dataset.get(split) or {}) or name not in dataset
    return f"{where}.{split}.{name}" if own else f"{where}.{name}"


def tried(path: Any) -> str:
    """``path``, and for a relative path the working directory it was read from and the absolute path tried."""
    path = str(path)
    if os.path.isabs(path):
        return path
    cwd = os.getcwd()
    return f"{path} (relative to the working directory {cwd}: {Path(cwd, path)})"
