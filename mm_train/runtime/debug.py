"""Accuracy-debugging modes (``debug=fast|overfit|small``): validate on small data first.

The ``debug`` config group sets the ``debug`` section; :func:`apply_debug` then
rewrites the resolved config, so a debug mode wins over whatever the recipe says:

- ``fast``: a few steps of train and eval with a tiny batch, one epoch;
- ``overfit``: one batch, repeated, augmentation off, evaluated on that batch
  (the runner reads the train split for both); the batch must be memorised: accuracy 1.0 on it, or the
  loss within ``debug.overfit_loss`` of the floor the loss implies (label smoothing), else the run says
  the network cannot learn (exit 1; the losses come from :class:`mm_train.callbacks.divergence.StopOnNonFiniteLoss`, which records every step);
- ``small``: a subset of the data, augmentation off, a fixed loss scale.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Mapping

AUGMENTATIONS = {"AutoAugment", "RandAugment", "TrivialAugmentWide", "UniformAugment", "MixUpBatch",
                 "CutMixBatch", "CutOut", "RandomErasing"}


def deterministic(transform: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The transform with its randomness removed, keeping the output shape; None to drop it."""
    kind = transform.get("type", "")
    if kind == "RandomCrop":
        return {"type": "CenterCrop", "size": transform["size"]}
    if kind in ("RandomResizedCrop", "RandomCropDecodeResize"):
        size = transform["size"]
        resized = {"type": "Resize", "size": [size, size] if isinstance(size, int) else size}
        return [{"type": "Decode"}, resized] if kind == "RandomCropDecodeResize" else resized
    if kind.startswith("Random") or kind in AUGMENTATIONS:
        return None
    return transform


def without_augmentation(transforms: list) -> list:
    out = []
    for transform in transforms or []:
        kept = deterministic(transform)
        out += kept if isinstance(kept, list) else [kept] if kept is not None else []
    return out


def apply_debug(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with the debug mode's limits applied (unchanged when mode is none)."""
    debug = config.get("debug") or {}
    if debug.get("mode", "none") == "none":
        return config
    config = copy.deepcopy(config)
    dataset, train = config["dataset"], config["train"]
    for split in ("train", "eval"):
        settings = dataset.setdefault(split, {}) or {}
        dataset[split] = settings
        if debug.get("batch_size"):
            settings["batch_size"] = debug["batch_size"]
        limit = debug.get(f"{split}_limit")
        if limit:
            settings["limit"] = limit
        if not debug.get("augmentation", True):
            settings["transforms"] = without_augmentation(settings.get("transforms"))
            settings.pop("batch_transforms", None)      # MixUpBatch / CutMixBatch are augmentation too
    if debug["mode"] == "overfit":
        from mm_train.data import batch_size
        batch = batch_size(dataset, "train")
        for split in ("train", "eval"):          # the very same batch, in the same order
            dataset[split].update(limit=batch, batch_size=batch, shuffle=False, drop_remainder=False,
                                  transforms=dataset["train"]["transforms"])
    if debug.get("epochs"):
        train["epochs"] = debug["epochs"]
    if debug.get("loss_scale"):
        config["loss_scale"] = {"type": debug["loss_scale"], "scale": 1024, "drop_overflow_update": False} \
            if debug["loss_scale"] == "fixed" else {"type": debug["loss_scale"]}
    return config


def loss_floor(loss: Mapping[str, Any], num_classes: int | None) -> tuple[float, str]:
    """The lowest value ``loss`` can reach on a memorised batch, and why (0 for a plain cross entropy).

    Label smoothing ``e`` over ``K`` classes aims at ``1 - e + e/K`` for the true class and ``e/K`` for each
    other one, so the cross entropy cannot fall below that target's entropy (0.50 for e=0.1, K=10). MixUp and
    CutMix are off in ``debug=overfit`` (augmentation), so they add no floor here.
    """
    smoothing = float((loss or {}).get("label_smoothing") or 0.0)
    if smoothing <= 0 or not num_classes or num_classes < 2:
        return 0.0, ""
    k = int(num_classes)
    true, other = 1.0 - smoothing + smoothing / k, smoothing / k
    floor = -true * math.log(true) - (k - 1) * other * math.log(other)
    return floor, f"label smoothing {smoothing:g} over {k} classes keeps the loss above {floor:.3f}"


def overfit_verdict(losses: list[float], threshold: float, floor: tuple[float, str] = (0.0, ""),
                    accuracy: float | None = None) -> tuple[bool, str]:
    """Whether one repeated batch was learnt, and the sentence that says so.

    Learnt: every sample of the batch is classified right (``accuracy`` 1.0, measured on that batch), or the
    loss came within ``threshold`` of the floor the loss function implies (:func:`loss_floor`).
    """
    first, last = losses[0], min(losses[-3:])
    bound, why = floor
    limit = bound + threshold
    acc = f" and the accuracy on it is {accuracy:.3g}" if accuracy is not None else ""
    floor_note = f" ({why})" if why else ""
    if (accuracy is not None and accuracy >= 1.0) or last <= limit:
        return True, (f"overfit: the network can learn: on one repeated batch the loss fell from {first:.4g} to "
                      f"{last:.4g}{floor_note}{acc}")
    return False, (f"overfit: the network cannot learn: on one repeated batch the loss went from {first:.4g} "
                   f"to {last:.4g}, not below {limit:.4g}{floor_note}{acc}. Check the learning rate (lr_schedule), "
                   f"the loss and the labels, and the layers (python run.py +recipe=... task=summary)")


def fast_verdict(steps: int, evaluations: list) -> str:
    """What ``debug=fast`` showed: the job runs end to end; its metrics mean nothing yet."""
    last = evaluations[-1] if evaluations else {}
    shown = ", ".join(f"{k}={last[k]:.4g}" for k in ("acc", "loss") if isinstance(last.get(k), float))
    return (f"debug=fast: the whole job ran ({steps} training steps, evaluation, checkpoints); its metrics "
            f"({shown or 'none'}) come from a few samples and mean nothing yet. Next: debug=overfit checks that "
            "the network can learn one batch; without debug= it trains on all the data")
