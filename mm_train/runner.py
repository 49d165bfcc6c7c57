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
from mm_train.errors import ConfigError
from mm_train.rundir import claim
from mm_train.runfiles import run_info, to_yaml, write_json, write_text


def seed_everything(seed: int) -> None:
    import mindspore as ms
    import mindspore.dataset as ds
    import numpy as np
    ms.set_seed(seed)
    ds.config.set_seed(seed)
    np.random.seed(seed)


def fresh_seed(rank) -> int:
    """A new seed for ``seed: null``; data parallel ranks must agree, so they need a given seed."""
    import secrets
    if rank.size > 1:
        raise ConfigError("seed", f"null with {rank.size} processes: each would draw its own",
                          expected="a whole number (python run.py ... seed=N) for a data parallel run")
    return secrets.randbelow(2**31 - 1)


def execute(cfg: DictConfig | Mapping[str, Any], run_dir: Path, recipe: str,
            overrides: list[str] | None = None) -> Any:
    """Validate, build and run ``cfg``'s task; return its result (the final ``train.metric`` for train/eval)."""
    run_dir = Path(run_dir)
    os.environ.setdefault("MS_DEV_SAVE_GRAPHS_PATH", str(run_dir))   # MindSpore's analyze_fail.ir: not in ./
    os.environ["MS_OM_PATH"] = str(run_dir.resolve())   # where MindSpore writes rank_N/om/analyze_fail.ir
    job = start(cfg)
    config = job.config
    if config.get("seed") is None:   # seed: null -> a fresh seed, recorded in run_info.json
        config["seed"] = fresh_seed(job.rank)
    seed_everything(int(config["seed"]))
    with claim(run_dir, config, job.rank):   # a lock, and no silent reuse of earlier results
        if job.rank.is_main:   # one run directory for all ranks: only rank 0 writes to it
            hydra_record.write(run_dir)   # .hydra/: never before the run holds the directory
            write_text(run_dir / "config.yaml", to_yaml(config))
            write_json(run_dir / "run_info.json", run_info(recipe, config["seed"], overrides or []))
        task = TASKS.get(config["task"], "task")
        return task(config, run_dir, recipe, job.rank)
