"""Build the parts of a job from a validated config: data, network, training step, ``Model``.

    parts = build_parts(config, "train")      # Parts(network, model, train_data, eval_data, ...)
    lr, loss, train_network = build_training(config, network, steps_per_epoch, global_batch, scale, "O0")

``task=check`` (:mod:`mm_train.tasks.inspection`) builds its training step with :func:`build_training` too,
so it checks the very step ``task=train`` runs. Nothing here reads or writes the run directory.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from mm_train.assembly import distributed
from mm_train.core import ranks
from mm_train.core.errors import ConfigError


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


TRANSFORM_HINT = ("add {type: HWC2CHW} (channels first) and {type: Rescale, rescale: 0.00392156862745098, "
                  "shift: 0.0} or {type: TypeCast, data_type: float32} to the split's transforms")


def check_sample(data, config: Mapping[str, Any], split: Optional[str] = None) -> None:
    """Pull one batch through the pipeline: its images must be float32 of ``network.input_shape``.

    Catches removed transforms (uint8 HWC images) with a message instead of a graph-compile failure.
    """
    if data is None:
        return
    from mm_train.data.failures import reported_data_errors

    split = split or ("train" if config.get("task", "train") == "train" else "eval")
    try:
        with building("dataset"), reported_data_errors():   # an undecodable file: named by reported_data_errors
            iterator = data.create_dict_iterator(num_epochs=1, output_numpy=True)
            batch = next(iterator, None)
            iterator.stop()
    except ConfigError as err:   # images of different sizes: name the odd one in an image folder
        from mm_train.data.checks import odd_image
        odd = odd_image(config["dataset"], split) if "different shapes" in str(err) else None
        if odd is None:
            raise
        raise ConfigError(f"dataset.{split}", odd, expected=err.expected) from None
    if not batch or "image" not in batch:
        return
    image = batch["image"]
    want = tuple(config["network"]["input_shape"])
    transforms = ((config["dataset"] or {}).get(split) or {}).get("transforms")
    empty = "is empty: " if not transforms else ""
    if tuple(image.shape[1:]) != want or str(image.dtype) != "float32":
        raise ConfigError(f"dataset.{split}.transforms",
                          f"{empty}one sample of the {split} pipeline is {image.dtype} of shape {tuple(image.shape[1:])}, "
                          f"but the network takes float32 of shape {want} (network.input_shape)",
                          expected=TRANSFORM_HINT if image.dtype != "float32" or image.shape[-1] in (1, 3)
                          else "network.input_shape to match the data, or transforms that resize it")


def build_training(config: Mapping[str, Any], network, steps_per_epoch: int, global_batch: int, loss_scale,
                   amp_level: str, task: str = "train"):
    """``(per-step learning rates, loss, train network)``: schedule, optimizer, loss, then the train step
    (with ``train.grad_accumulation`` micro-batches and, for ``task=train``, ``train.ema_decay``)."""
    import mindspore as ms

    from mm_train.learning.lr_schedules import build_lr_schedule, warmup_note
    from mm_train.learning.optimizers import build_optimizer
    from mm_train.registry import LOSSES
    from mm_train.learning.train_step import build_train_network, ema_copy_steps, train_step_options

    clip = config["optimizer"].get("clip_grad_norm")   # validated: a positive number or null
    epochs = int(config["train"]["epochs"])
    with building("lr_schedule"):
        lr = build_lr_schedule(config["lr_schedule"], epochs * steps_per_epoch, steps_per_epoch, global_batch)
    note = warmup_note(config["lr_schedule"], epochs * steps_per_epoch, steps_per_epoch)
    if note and task == "train":   # the warm-up as it runs, when it is not what warmup_epochs says
        print(note, flush=True)
    lr = distributed.scale_lr(lr, config, ranks.current())   # train.scale_lr_by_devices
    with building("optimizer"):
        optimizer = build_optimizer(config["optimizer"], network.trainable_params(), ms.Tensor(lr))
    with building("loss"):
        loss = LOSSES.build(config["loss"], "loss")
    with building("train.amp_level"):
        options = train_step_options(config["train"], task)
        if options["ema_decay"] is not None:
            options["ema_copy_steps"] = ema_copy_steps(config, steps_per_epoch)
        train_network = build_train_network(network, loss, optimizer, loss_scale, amp_level, clip, **options)
    return lr, loss, train_network


def build_parts(config: Mapping[str, Any], task: str, open_data: bool = True) -> Parts:
    """Build every part of the job; with ``open_data=False`` the data files are not read
    (transforms and batch transforms are still built), as ``mm-train recipes validate`` does. Loss scale and amp
    are checked against the device first."""
    from mindspore.train import Model

    from mm_train.learning.amp import check_amp_level, loss_scale_of
    from mm_train.data import batch_size, build_dataset
    from mm_train.data.transforms import build_transforms
    from mm_train.core.metrics import build_metrics, reported
    from mm_train.assembly.init_from import recipe_network
    from mm_train.learning.train_step import EvalStep, optimizer_step_dataset

    target = config["device"].get("target", "CPU")
    loss_scale = loss_scale_of(config.get("loss_scale"), target)   # validated; a CPU fallback is logged
    amp_level = check_amp_level(config["train"].get("amp_level", "O0"), target)   # validated: a note on CPU
    network, _ = recipe_network(config)
    dataset = optimizer_step_dataset(config["dataset"], config["train"])   # N x B samples per optimizer step
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
    for split, data in (("train", train_data), ("train" if overfit else "eval", eval_data)):
        check_sample(data, config, split)   # before any graph is compiled: both pipelines
    steps = train_data.get_dataset_size() if train_data is not None else 1
    global_batch = batch_size(dataset, "train") * ranks.current().size
    lr, loss, train_network = build_training(config, network, steps, global_batch, loss_scale, amp_level, task)
    eval_network = EvalStep(network, loss, cast_fp32=amp_level != "O0")
    model = Model(train_network, eval_network=eval_network, eval_indexes=[0, 1, 2],
                  metrics=build_metrics(reported(config["train"])))
    return Parts(network, model, train_data, eval_data, steps, train_network, lr, global_batch)
