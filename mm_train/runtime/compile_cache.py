"""MindSpore's on-disk graph compile cache, one folder per graph-defining config.

MindSpore 2.10 caches compiled graphs on CPU too (``MS_COMPILER_CACHE_ENABLE=1``,
``MS_COMPILER_CACHE_PATH=DIR``): a repeated ResNet-50 job reaches its first step
2-3x sooner (bench/compile_cache.py, docs/performance.md). But MindSpore decides
whether a cache is valid only from a hash of the entry script and the non-installed
Python files it imports; mm_train builds its networks from the config, so by itself
MindSpore would load a graph compiled for another network, batch size or number of
epochs. Measured: a changed ``out_channels``, batch size or ``train.epochs`` against
the same cache folder fails in a CPU kernel at the first step. So each config gets
its own folder, named by a hash of everything that shapes the graphs:

- the config without the keys that cannot change a graph: ``callbacks``, ``paths``,
  ``resume``, ``resume_replay``, ``init_from``, ``export``,
  ``train.eval_interval``, ``train.metric``, ``device.log_level`` and the learning-rate
  schedule's *values* (the schedule is a Tensor of ``epochs x steps`` values, data of the
  graph: its length is in the hash through ``train.epochs`` and the step counts);
- the train steps per epoch and eval batches per pass (the data's size sets them);
- the MindSpore and Python versions and a hash of mm_train's own source files.

``task`` stays in the key: MindSpore numbers the cached graphs in compile order
(``compile_cache_0.mindir`` is the first graph the process compiles), so ``task=eval``
must not find a training run's folder, whose first graph is the train step.

So the jobs of a sweep over ``lr_schedule.*`` share one compilation, and so do reruns.

    info = enable(config, steps_per_epoch, eval_batches, recipe)   # before the first compile
    # info = {"enabled": True, "hit": False, "path": ".../quickstart-3f2a...", "key": "3f2a..."}

The cache folder is ``$MM_TRAIN_COMPILE_CACHE_DIR`` or ``~/.cache/mm_train/compile_cache``
(``$XDG_CACHE_HOME``); ``device.compile_cache=false`` turns it off.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

PACKAGE = Path(__file__).resolve().parents[1]
NOT_IN_GRAPH = ("callbacks", "paths", "resume", "resume_replay", "init_from", "export", "hydra")
NOT_IN_GRAPH_NESTED = (("train", "eval_interval"), ("train", "metric"), ("device", "log_level"),
                       ("device", "compile_cache"))


def cache_root() -> Path:
    if os.environ.get("MM_TRAIN_COMPILE_CACHE_DIR"):
        return Path(os.environ["MM_TRAIN_COMPILE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mm_train" / "compile_cache"


@lru_cache(maxsize=1)
def source_digest() -> str:
    """A hash of mm_train's own .py files (their code builds the graphs); ~2 ms."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def graph_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` without the keys that cannot change a compiled graph."""
    kept = {k: copy.deepcopy(v) for k, v in config.items() if k not in NOT_IN_GRAPH}
    for section, key in NOT_IN_GRAPH_NESTED:
        if isinstance(kept.get(section), dict):
            kept[section].pop(key, None)
    if isinstance(kept.get("lr_schedule"), dict):   # values, not shape: keep only the schedule's name
        kept["lr_schedule"] = {"type": kept["lr_schedule"].get("type")}
    return kept


def cache_key(config: Mapping[str, Any], steps_per_epoch: int, eval_batches: int | None) -> str:
    import mindspore as ms
    what = {"config": graph_config(config), "steps_per_epoch": steps_per_epoch, "eval_batches": eval_batches,
            "mindspore": ms.__version__, "python": platform.python_version(), "mm_train": source_digest()}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


VARIABLES = ("MS_COMPILER_CACHE_ENABLE", "MS_COMPILER_CACHE_PATH")


@contextmanager
def scoped():
    """Restore MindSpore's compile-cache variables on leaving: the cache is this job's alone, never that of
    a later job, a ``task=check`` or a subprocess of the same process (tests, Hydra sweeps, notebooks)."""
    saved = {var: os.environ.get(var) for var in VARIABLES}
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def wanted(config: Mapping[str, Any]) -> bool:
    device = config.get("device") or {}
    return bool(device.get("compile_cache", False)) and str(device.get("mode", "graph")).lower() == "graph"


def enable(config: Mapping[str, Any], steps_per_epoch: int, eval_batches: int | None, recipe: str,
           rank: int = 0) -> dict[str, Any]:
    """Point MindSpore's compile cache at this config's folder (before anything is compiled); what was done."""
    if not wanted(config):
        os.environ.pop("MS_COMPILER_CACHE_ENABLE", None)   # a sweep's earlier job may have set it
        return {"enabled": False}
    key = cache_key(config, steps_per_epoch, eval_batches)
    folder = cache_root() / f"{recipe.replace('/', '_')}-{key[:16]}"
    graphs = folder / f"rank_{rank}" / "graph_cache"
    hit = (graphs / "compile_dependency.hash").is_file() and any(graphs.glob("compile_cache_*.mindir"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["MS_COMPILER_CACHE_ENABLE"] = "1"
    os.environ["MS_COMPILER_CACHE_PATH"] = str(folder)
    return {"enabled": True, "hit": hit, "path": str(folder), "key": key}
