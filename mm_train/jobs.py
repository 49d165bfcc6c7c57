"""Open a job and run its task: the one way for run.py and every ``mm-train`` command.

    job = open_job("quickstart", ["train.epochs=3"])   # compose, resolve, validate, debug mode, device
    job.config["train"]["epochs"], job.rank.is_main      # 3, True
    job = start(cfg)                                     # the same for a config Hydra composed (run.py)
    execute(cfg, run_dir=Path("out"), recipe="quickstart")   # start, then run the task in its run directory

Data flows one way: resolved config -> validated config -> built parts (:mod:`mm_train.assembly.parts`) -> Model
-> train/eval -> run directory (config.yaml, run_info.json, checkpoints/, metrics.json). Order matters: the
device's environment variables are set before MindSpore is imported (by the registries), and every problem
of the config is reported at once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import GrammarParseError, OmegaConfBaseException

from mm_train import registry
from mm_train.assembly import distributed
from mm_train.config import interpolation_bounds
from mm_train.config.composition import compose_recipe, interpolation_error
from mm_train.config.run_record import RunRecord, status_of
from mm_train.config.schema import validate, with_defaults
from mm_train.core import device
from mm_train.core.errors import ConfigError
from mm_train.core.ranks import Rank
from mm_train.registry import TASKS
from mm_train.run_dir import hydra_record
from mm_train.run_dir.owner import claim
from mm_train.runtime.debug import apply_debug
# The tasks (task=NAME): each module registers its own in TASKS, with what it needs (needs_weights,
# keeps_results, report); execute() dispatches through TASKS to training.train_task / eval_task,
# export.export_task, inspection.summary_task / check_task and predict.predict_task.
from mm_train.tasks import export, inspection, predict, training  # noqa: F401  (they register the tasks)


@dataclass
class Job:
    config: dict[str, Any]   # resolved, validated, schema defaults and debug mode applied, device placed
    rank: Rank


def task_flag(task: Any, flag: str) -> bool:
    """Whether the task named ``task`` declares ``flag`` (``needs_weights``, ``keeps_results``, ``report``)."""
    return task in TASKS and bool(TASKS.meta(task).get(flag))


def resolve(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain containers, interpolations resolved; problems as ConfigError."""
    interpolation_bounds.check(OmegaConf.to_container(cfg, resolve=False))   # no bombs: sizes before resolving
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "config"
        if isinstance(err, GrammarParseError):
            raise interpolation_error(key, err) from None
        raise ConfigError(key, str(err).splitlines()[0]) from None


def prepare(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Resolve and validate ``cfg`` and apply its debug mode; every problem in one ConfigError.

    Loads MindSpore (the device's environment variables are set first).
    """
    nested = cfg.get("recipe")
    if isinstance(nested, (Mapping, DictConfig)):   # a recipe file without its header: keys under recipe:
        raise ConfigError("recipe", "the recipe's keys ended up under 'recipe:' because its file does not start "
                          "with '# @package _global_'",
                          expected="'# @package _global_' as the first line of the recipe file (also when a run "
                          "directory's config.yaml is copied as a recipe)")
    config = resolve(cfg) if isinstance(cfg, DictConfig) else dict(cfg)
    if isinstance(config.get("device"), Mapping):
        device.set_environment(config["device"])
    registry.load_all()
    validate(config, TASKS)
    return apply_debug(with_defaults(config))


def start(cfg: DictConfig | Mapping[str, Any]) -> Job:
    """:func:`prepare`, then the device (under msrun / mpirun also ``init()`` and data parallel)."""
    config = prepare(cfg)
    config["device"] = distributed.placed_device(config["device"])   # device_id: the local rank on GPU/Ascend
    return Job(config, distributed.configure(config))


def open_job(recipe: str, overrides: list[str] = ()) -> Job:
    """:func:`start` on the recipe composed as ``python run.py +recipe=RECIPE OVERRIDES`` would."""
    return start(compose_recipe(recipe, list(overrides)))


def seed_everything(seed: int) -> None:
    import mindspore as ms
    import mindspore.dataset as ds
    import numpy as np
    ms.set_seed(seed)
    ds.config.set_seed(seed)
    np.random.seed(seed)


def fresh_seed(rank: Rank, run_dir: Path) -> int:
    """A new seed for ``seed: null``. Data parallel ranks must agree without talking first, so there it
    comes from the run directory they share (a new folder per run: mm-train launch's MM_TRAIN_RUN_DIR)."""
    import hashlib
    import secrets
    if rank.size > 1:
        return int(hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest(), 16) % (2**31 - 1)
    return secrets.randbelow(2**31 - 1)


def execute(cfg: DictConfig | Mapping[str, Any], run_dir: Path, recipe: str,
            overrides: list[str] | None = None) -> Any:
    """Validate, build and run ``cfg``'s task in ``run_dir``; return its result (the final ``train.metric``
    for train/eval). Works without Hydra."""
    run_dir = Path(run_dir)
    os.environ.setdefault("MS_DEV_SAVE_GRAPHS_PATH", str(run_dir))   # MindSpore's analyze_fail.ir: not in ./
    os.environ["MS_OM_PATH"] = str(run_dir.resolve())   # where MindSpore writes rank_N/om/analyze_fail.ir
    from mm_train.runtime.interruption import set_phase
    set_phase("start-up (loading MindSpore, checking the config)")
    job = start(cfg)
    config = job.config
    if config.get("seed") is None:   # seed: null -> a fresh seed, recorded in run_info.json
        config["seed"] = fresh_seed(job.rank, run_dir)
    seed_everything(int(config["seed"]))
    keeps_results = task_flag(config["task"], "keeps_results")
    with claim(run_dir, config, job.rank, keeps_results):   # a lock, and no silent reuse of earlier results
        record = None
        if job.rank.is_main:   # one run directory for all ranks: only rank 0 writes to it
            record = RunRecord(run_dir, recipe, overrides, config["seed"], metrics=keeps_results)
            record.begin(config)   # config.yaml, run_info.json (status running); a changed resume is refused
            hydra_record.write(run_dir)   # .hydra/: never before the run holds the directory
        task = TASKS.get(config["task"], "task")
        set_phase("start-up (building the network and the data)")
        try:
            result = task(config, run_dir, recipe, record)
        except BaseException as err:   # interrupted, diverged, failed: the record says so
            if record is not None:
                record.end(status_of(err))
            raise
        if record is not None:
            record.end("finished")
        return result
