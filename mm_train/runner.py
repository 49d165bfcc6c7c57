"""Run a job's task and keep its run directory: the orchestration above the parts.

Data flows one way: resolved config -> validated config (:mod:`mm_train.jobs`) -> built parts
(:mod:`mm_train.assembly`) -> Model -> train/eval -> run directory (config.yaml, run_info.json,
checkpoints/, metrics.json). The task comes from :data:`mm_train.registry.TASKS`. ``execute``
works without Hydra::

    execute(config_dict, run_dir=Path("out"), recipe="quickstart")
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from omegaconf import DictConfig

from mm_train.jobs import start
from mm_train.registry import TASKS
from mm_train.rundir import claim
from mm_train.runfiles import run_info, to_yaml, write_json, write_text


def seed_everything(seed: int) -> None:
    import mindspore as ms
    import mindspore.dataset as ds
    import numpy as np
    ms.set_seed(seed)
    ds.config.set_seed(seed)
    np.random.seed(seed)


def fresh_seed(rank, run_dir: Path) -> int:
    """A new seed for ``seed: null``. Data parallel ranks must agree without talking first, so there it
    comes from the run directory they share (a new folder per run: mm-train launch's MM_TRAIN_RUN_DIR)."""
    import hashlib
    import secrets
    if rank.size > 1:
        return int(hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest(), 16) % (2**31 - 1)
    return secrets.randbelow(2**31 - 1)


def execute(cfg: DictConfig | Mapping[str, Any], run_dir: Path, recipe: str,
            overrides: list[str] | None = None) -> Any:
    """Validate, build and run ``cfg``'s task; return its result (the final ``train.metric`` for train/eval)."""
    run_dir = Path(run_dir)
    os.environ.setdefault("MS_DEV_SAVE_GRAPHS_PATH", str(run_dir))   # MindSpore's analyze_fail.ir: not in ./
    job = start(cfg)
    config = job.config
    if config.get("seed") is None:   # seed: null -> a fresh seed, recorded in run_info.json
        config["seed"] = fresh_seed(job.rank, run_dir)
    seed_everything(int(config["seed"]))
    with claim(run_dir, config, job.rank):   # a lock, and no silent reuse of earlier results
        if job.rank.is_main:   # one run directory for all ranks: only rank 0 writes to it
            write_text(run_dir / "config.yaml", to_yaml(config))
            write_json(run_dir / "run_info.json", run_info(recipe, config["seed"], overrides or []))
        task = TASKS.get(config["task"], "task")
        return task(config, run_dir, recipe, job.rank)
