"""Compose the built parts into a ``mindspore.train.Model`` and run the task.

Data flows one way: resolved config -> validated config -> built parts ->
Model -> train/eval -> run directory (config.yaml, run_info.json,
checkpoints/, metrics.json). ``execute`` works without Hydra::

    execute(config_dict, run_dir=Path("out"), recipe="quickstart")
"""
from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mm_train import device, distributed
from mm_train.config import validate, with_defaults
from mm_train.errors import ConfigError

log = logging.getLogger(__name__)
PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_components() -> None:
    """Import every module that registers components (this imports MindSpore)."""
    from mm_train import callbacks, losses, lr_schedules, optim  # noqa: F401
    from mm_train.data import load_readers
    from mm_train.data import transforms  # noqa: F401
    from mm_train.nn.builder import load_blocks
    load_readers()
    load_blocks()


def resolve(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain containers, interpolations resolved; problems as ConfigError."""
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "config"
        raise ConfigError(key, str(err).splitlines()[0]) from None


def to_yaml(config: Mapping[str, Any]) -> str:
    """``config`` (plain containers) as YAML, in its own key order (libyaml's dumper where PyYAML has it)."""
    return yaml.dump(dict(config), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     allow_unicode=True)


def seed_everything(seed: int) -> None:
    import mindspore as ms
    import mindspore.dataset as ds
    import numpy as np
    ms.set_seed(seed)
    ds.config.set_seed(seed)
    np.random.seed(seed)


def run_info(recipe: str, seed: int, overrides: list[str]) -> dict[str, Any]:
    def version(pkg: str) -> str | None:
        module = sys.modules.get({"hydra-core": "hydra"}.get(pkg, pkg))   # imported: no metadata scan (~20 ms)
        if isinstance(getattr(module, "__version__", None), str):
            return module.__version__
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None
    try:
        done = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        commit = done.stdout.strip() if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"recipe": recipe, "seed": seed, "overrides": overrides, "git_commit": commit,
            "python": platform.python_version(),
            "environment": {var: os.environ.get(var) for var in ("ONEDNN_MAX_CPU_ISA", "GLOG_v")},
            "versions": {p: version(p) for p in ("mindspore", "hydra-core", "omegaconf", "numpy", "mm_train")}}


@dataclass
class Parts:
    network: Any
    model: Any
    train_data: Any
    eval_data: Any
    steps_per_epoch: int
    train_network: Any = None
    lr: Any = None
    global_batch_size: int = 1


@contextmanager
def building(where: str):
    """MindSpore's own argument checks (TypeError/ValueError) as a ConfigError naming the section."""
    try:
        yield
    except ConfigError:
        raise
    except (TypeError, ValueError, RuntimeError) as err:   # MindSpore's checks, Python and C++
        raise ConfigError(where, " ".join(str(err).split("\n")[0].split())) from None


def build_parts(config: Mapping[str, Any], task: str, open_data: bool = True) -> Parts:
    """Build every part of the job; with ``open_data=False`` the data files are not read
    (transforms and batch transforms are still built), as ``mm-train recipes validate`` does. Loss scale and amp
    are checked against the device first."""
    import mindspore as ms
    from mindspore import nn
    from mindspore.train import Model

    from mm_train.amp import check_amp_level, parse_loss_scale
    from mm_train.data import build_dataset
    from mm_train.data.transforms import build_transforms
    from mm_train.lr_schedules import build_lr_schedule
    from mm_train.nn.builder import build_network
    from mm_train.optim import build_optimizer, clip_grad_norm
    from mm_train.registry import LOSSES
    from mm_train.train_step import EvalStep, build_train_network
    from mm_train.training import rank_and_size

    target = config["device"].get("target", "CPU")
    loss_scale = parse_loss_scale(config.get("loss_scale"), target)     # before anything is compiled
    amp_level = check_amp_level(config["train"].get("amp_level", "O0"), target)
    clip = clip_grad_norm(config["optimizer"])
    network, _ = build_network(config["network"])
    dataset = config["dataset"]
    overfit = (config.get("debug") or {}).get("mode") == "overfit"
    train_data = eval_data = None
    with building("dataset"):
        if open_data:
            train_data = build_dataset(dataset, "train") if task == "train" else None
            eval_data = build_dataset(dataset, "train" if overfit else "eval")
        else:
            for split in ("train", "eval"):
                for key in ("transforms", "batch_transforms"):
                    build_transforms((dataset.get(split) or {}).get(key), f"dataset.{split}.{key}")
    steps = train_data.get_dataset_size() if train_data is not None else 1
    epochs = int(config["train"]["epochs"])
    global_batch = int((dataset.get("train") or {}).get("batch_size", 32)) * rank_and_size()[1]
    with building("lr_schedule"):
        lr = build_lr_schedule(config["lr_schedule"], epochs * steps, steps, global_batch)
    lr = distributed.scale_lr(lr, config)   # train.scale_lr_by_devices
    with building("optimizer"):
        optimizer = build_optimizer(config["optimizer"], network.trainable_params(), ms.Tensor(lr))
    with building("loss"):
        loss = LOSSES.build(config["loss"], "loss")
    with building("train.amp_level"):
        train_network = build_train_network(network, loss, optimizer, loss_scale, amp_level, clip)
    eval_network = EvalStep(network, loss, cast_fp32=amp_level != "O0")
    model = Model(train_network, eval_network=eval_network, eval_indexes=[0, 1, 2],
                  metrics={"acc": nn.Accuracy(), "loss": nn.Loss()})
    return Parts(network, model, train_data, eval_data, steps, train_network, lr, global_batch)


def load_weights(network, spec: Any) -> Any:
    """Load ``init_from`` into ``network`` (see :func:`mm_train.checkpoints.load_init_from`)."""
    from mm_train.checkpoints import load_init_from
    return load_init_from(network, spec)


def prepare(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Resolve and validate ``cfg`` and apply its debug mode; every problem in one ConfigError.

    Loads MindSpore (the device's environment variables are set first).
    """
    from mm_train.debug import apply_debug

    config = resolve(cfg) if isinstance(cfg, DictConfig) else dict(cfg)
    if isinstance(config.get("device"), Mapping):
        device.prepare_environment(config["device"])
    load_components()
    validate(config)
    return apply_debug(with_defaults(config))


def execute(cfg: DictConfig | Mapping[str, Any], run_dir: Path, recipe: str,
            overrides: list[str] | None = None) -> float | None:
    """Validate, build and run ``cfg``'s task; return the final value of ``train.metric``."""
    config = prepare(cfg)
    rank = distributed.configure(config)   # device; under msrun/mpirun also init() and DATA_PARALLEL
    seed_everything(int(config["seed"]))

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if rank.is_main:   # one run directory for all ranks: only rank 0 writes to it
        (run_dir / "config.yaml").write_text(to_yaml(config), encoding="utf-8")
        (run_dir / "run_info.json").write_text(json.dumps(run_info(recipe, config["seed"], overrides or []),
                                                          indent=2))

    task, metric = config["task"], config["train"].get("metric", "acc")
    from mm_train import inspection
    if task in inspection.TASKS:   # summary / check: no data, no training
        return inspection.run(task, config, run_dir, recipe)
    if task == "export":
        from mm_train.export import export_task
        export_task(config, run_dir)
        return None
    parts = build_parts(config, task)
    from mm_train.run_settings import apply_run_settings
    apply_run_settings(config, parts, run_dir, recipe, rank)   # compile cache, runtime tuning -> run_info.json
    from mm_train.training import evaluate_only, fit
    if task == "eval":
        return evaluate_only(config, parts, run_dir)[metric]
    evaluations, losses = fit(config, parts, run_dir, recipe, rank)
    if (config.get("debug") or {}).get("mode") == "overfit":
        from mm_train.debug import overfit_verdict
        learnt, verdict = overfit_verdict(losses, float(config["debug"]["overfit_loss"]))
        if not learnt:
            raise NetworkCannotLearn(verdict)
        print(verdict, flush=True)
    return evaluations[-1][metric] if evaluations else None


class NetworkCannotLearn(Exception):
    """``debug=overfit`` found that the loss does not fall: run.py exits 1 with the verdict."""


class TrainingDiverged(Exception):
    """The training loss became NaN or inf (:class:`mm_train.callbacks.StopOnNonFiniteLoss`): run.py exits 1."""
