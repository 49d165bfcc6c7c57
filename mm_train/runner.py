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
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

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


def seed_everything(seed: int) -> None:
    import mindspore as ms
    import mindspore.dataset as ds
    import numpy as np
    ms.set_seed(seed)
    ds.config.set_seed(seed)
    np.random.seed(seed)


def run_info(recipe: str, seed: int, overrides: list[str]) -> dict[str, Any]:
    def version(pkg: str) -> str | None:
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
    (transforms are still built), as ``mm-train recipes validate`` does."""
    import mindspore as ms
    from mindspore import nn
    from mindspore.train import Model

    from mm_train.amp import build_loss_scale
    from mm_train.data import build_dataset
    from mm_train.data.transforms import build_transforms
    from mm_train.nn.builder import build_network
    from mm_train.optim import build_optimizer
    from mm_train.registry import LOSSES, LR_SCHEDULES

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
                build_transforms((dataset.get(split) or {}).get("transforms"), f"dataset.{split}.transforms")
    steps = train_data.get_dataset_size() if train_data is not None else 1
    epochs = int(config["train"]["epochs"])
    with building("lr_schedule"):
        lr = LR_SCHEDULES.build(config["lr_schedule"], "lr_schedule", epochs * steps, steps)
    lr = distributed.scale_lr(lr, config)   # train.scale_lr_by_devices
    manager, optimizer_scale = build_loss_scale(config.get("loss_scale") or {}, config["device"]["target"])
    with building("optimizer"):
        optimizer = build_optimizer(config["optimizer"], network.trainable_params(), ms.Tensor(lr), optimizer_scale)
    with building("loss"):
        loss = LOSSES.build(config["loss"], "loss")
    extra = {"loss_scale_manager": manager} if manager is not None else {}
    with building("train.amp_level"):
        model = Model(network, loss_fn=loss, optimizer=optimizer, metrics={"acc": nn.Accuracy(), "loss": nn.Loss()},
                      amp_level=config["train"].get("amp_level", "O0"), **extra)
    return Parts(network, model, train_data, eval_data, steps)


def load_weights(network, path: Any) -> Any:
    """Load a MindSpore checkpoint into ``network``; every key must match.

    Another framework's weights, or a mapping ``{path, format, rules, allow}``, go through
    :func:`mm_train.migrate.weights.import_weights` (which returns its report).
    """
    if not path:
        return
    from mm_train.migrate.weights import import_weights, wants_import
    if wants_import(path):   # another framework's weights, or a mapping {path, format, rules, allow}
        return import_weights(network, path)
    import mindspore as ms
    if not Path(path).is_file():
        raise ConfigError("init_from", f"checkpoint not found: {path}", expected="a MindSpore .ckpt file")
    try:
        params = ms.load_checkpoint(str(path))
    except (ValueError, RuntimeError) as err:
        raise ConfigError("init_from", f"cannot read {path}: {err}") from None
    own = {p.name: p for p in network.get_parameters()}
    skipped = {k for k in params if k.startswith(("moments.", "learning_rate", "global_step", "momentum"))
               or k in ("epoch_num", "step_num", "scale_sense", "current_iterator_step", "last_save_time")}
    problems = [f"missing in checkpoint: {k}" for k in own if k not in params]
    problems += [f"not in network: {k}" for k in params if k not in own and k not in skipped]
    problems += [f"shape of {k}: checkpoint {tuple(params[k].shape)}, network {tuple(p.shape)}"
                 for k, p in own.items() if k in params and tuple(params[k].shape) != tuple(p.shape)]
    if problems:
        raise ConfigError("init_from", f"{path} does not fit the network:\n    " + "\n    ".join(problems[:20])
                          + (f"\n    ... and {len(problems) - 20} more" if len(problems) > 20 else ""))
    ms.load_param_into_net(network, {k: params[k] for k in own}, strict_load=True)


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

    from mm_train.callbacks import CALLBACKS, Evaluate, LossHistory, RunContext
    from mm_train.debug import overfit_verdict

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if rank.is_main:   # one run directory for all ranks: only rank 0 writes to it
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(config)), encoding="utf-8")
        (run_dir / "run_info.json").write_text(json.dumps(run_info(recipe, config["seed"], overrides or []),
                                                          indent=2))

    task, metric = config["task"], config["train"].get("metric", "acc")
    from mm_train import inspection
    if task in inspection.TASKS:   # summary / check: no data, no training
        return inspection.run(task, config, run_dir, recipe)
    parts = build_parts(config, task)
    load_weights(parts.network, config.get("init_from"))
    sink = bool(config["device"].get("dataset_sink_mode", False))
    epochs = int(config["train"]["epochs"])
    evaluate = Evaluate(parts.model, parts.eval_data, run_dir if rank.is_main else None,   # metrics.json: rank 0
                        int(config["train"]["eval_interval"]), epochs, sink)
    if task == "eval":
        if not config.get("init_from"):
            raise ConfigError("init_from", "task=eval needs weights", expected="init_from=PATH.ckpt")
        return evaluate.record(parts.model.eval(parts.eval_data, dataset_sink_mode=sink), epoch=0)[metric]

    context = RunContext(run_dir, parts.steps_per_epoch, epochs, recipe.replace("/", "_"))
    callbacks = [CALLBACKS.build(spec, f"callbacks[{i}]", context)
                 for i, spec in enumerate(distributed.callbacks_for(config.get("callbacks") or [], rank))]
    history = LossHistory()
    session = distributed.Session(rank, run_dir)
    session.start(parts.network, config["dataset"].get("train"), parts.steps_per_epoch)
    parts.model.train(epochs, parts.train_data, callbacks=callbacks + [evaluate, history], dataset_sink_mode=sink)
    session.finish(parts.network)
    if (config.get("debug") or {}).get("mode") == "overfit":
        learnt, verdict = overfit_verdict(history.losses, float(config["debug"]["overfit_loss"]))
        if not learnt:
            raise NetworkCannotLearn(verdict)
        print(verdict, flush=True)
    return evaluate.history[-1][metric] if evaluate.history else None


class NetworkCannotLearn(Exception):
    """``debug=overfit`` found that the loss does not fall: run.py exits 1 with the verdict."""
