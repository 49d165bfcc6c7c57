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

from mm_train import hydra_record
from mm_train.jobs import start
from mm_train.registry import TASKS
from mm_train.rundir import claim
from mm_train.run_record import RunRecord, status_of

WITH_METRICS = ("train", "eval")   # tasks whose status is also in metrics.json


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
    os.environ["MS_OM_PATH"] = str(run_dir.resolve())   # where MindSpore writes rank_N/om/analyze_fail.ir
    from mm_train.interruption import set_phase
    set_phase("start-up (loading MindSpore, checking the config)")
    job = start(cfg)
    config = job.config
    if config.get("seed") is None:   # seed: null -> a fresh seed, recorded in run_info.json
        config["seed"] = fresh_seed(job.rank, run_dir)
    seed_everything(int(config["seed"]))
    with claim(run_dir, config, job.rank):   # a lock, and no silent reuse of earlier results
        record = None
        if job.rank.is_main:   # one run directory for all ranks: only rank 0 writes to it
            record = RunRecord(run_dir, recipe, overrides, config["seed"], metrics=config["task"] in WITH_METRICS)
            record.begin(config)   # config.yaml, run_info.json (status running); a changed resume is refused
            hydra_record.write(run_dir)   # .hydra/: never before the run holds the directory
        task = TASKS.get(config["task"], "task")
        set_phase("start-up (building the network and the data)")
        try:
            result = task(config, run_dir, recipe, job.rank)
        except BaseException as err:   # interrupted, diverged, failed: the record says so
            if record is not None:
                record.end(status_of(err))
            raise
        if record is not None:
            record.end("finished")
        return result
