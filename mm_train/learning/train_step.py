"""The one-step training cell: gradient accumulation, loss scale, clipping by global norm, the optimizer, EMA.

MindSpore's ``Model`` has no gradient clipping, so the runner builds the train
network itself and hands it to ``Model``::

    train_net = build_train_network(network, loss_fn, optimizer, LossScale("fixed", 1024),
                                    amp_level="O0", clip_grad_norm=1.0)
    model = Model(train_net, eval_network=nn.WithEvalCell(network, loss_fn), ...)

The gradients are unscaled here before clipping, so the optimizer always runs
with ``loss_scale=1``. Mixed precision (``amp_level``) is MindSpore's own
``amp.build_train_network`` processing.

Gradient accumulation (``train.grad_accumulation: N``): one call of the cell is one
optimizer step on a batch of ``N * B`` samples that the cell cuts into ``N`` micro-batches
of ``B`` (a loop unrolled at compile time, as ``nn.GradAccumulationCell`` does for
semi-auto parallel); their gradients are summed, then divided by ``N`` and the loss scale,
all-reduced once (data parallel), clipped as a whole and applied. So the dataset is batched
at ``N * B`` (:func:`optimizer_step_dataset`), and the epochs, the
learning-rate schedule, ``scale_by_batch``, logging and checkpoints all count optimizer
steps. The other design, one micro-batch per call with the optimizer on every N-th call
(``mindspore.boost.GradientAccumulation``), would all-reduce on every micro-step and make
``Model`` count micro-steps. BatchNorm sees micro-batches of ``B``, as it would without
accumulation. ``train.ema_decay`` wraps the cell in :class:`mm_train.learning.ema.EmaStep`.
"""
from __future__ import annotations

from typing import Any, Mapping

import mindspore as ms
from mindspore import nn, ops

from mm_train.learning.amp import LossScale
from mm_train.core.errors import ConfigError

_grad_scale = ops.MultitypeFuncGraph("grad_scale")


@_grad_scale.register("Tensor", "Tensor")
def _scale(scale, grad):
    return grad * ops.cast(ops.reciprocal(scale), ops.dtype(grad))


_micro = ops.MultitypeFuncGraph("micro_batch")


@_micro.register("Number", "Number", "Tensor")
def _micro_batch(index, count, data):
    size = data.shape[0] // count
    return data[index * size:(index + 1) * size]


def _accumulate(cell, inputs, sens_value):
    """Mean loss and summed gradients of ``cell.micro_batches`` micro-batches of ``inputs`` (sens each)."""
    total_loss, total = None, None
    for index in range(cell.micro_batches):      # unrolled: a static graph
        micro = inputs if cell.micro_batches == 1 else cell.hyper_map(
            ops.partial(_micro, index, cell.micro_batches), inputs)
        loss = cell.network(*micro)
        sens = ops.ones_like(loss) * ops.cast(sens_value, ops.dtype(loss))
        grads = cell.grad(cell.network, cell.weights)(*micro, sens)
        if total is None:
            total_loss, total = loss, grads
        else:
            total_loss, total = total_loss + loss, cell.hyper_map(ops.add, total, grads)
    if cell.micro_batches > 1:
        total_loss = total_loss / cell.micro_batches
    return total_loss, total


class TrainStep(nn.TrainOneStepCell):
    """Forward, backward with ``sens=scale``, unscale, optional clip, optimizer step; returns the loss."""

    def __init__(self, network, optimizer, scale: float = 1.0, clip_grad_norm: float | None = None,
                 micro_batches: int = 1):
        super().__init__(network, optimizer, sens=float(scale))
        self.micro_batches = int(micro_batches)
        self.scale = ms.Tensor(float(scale) * self.micro_batches, ms.float32)   # sum of N -> mean, unscaled
        self.unscale = float(scale) * self.micro_batches != 1.0
        self.sens_value = ms.Tensor(float(scale), ms.float32)
        self.clip = clip_grad_norm is not None
        self.clip_norm = float(clip_grad_norm or 1.0)
        self.hyper_map = ops.HyperMap()

    def construct(self, *inputs):
        loss, grads = _accumulate(self, inputs, self.sens_value)
        grads = self.grad_reducer(grads)                 # data parallel: one all-reduce per optimizer step
        if self.unscale:
            grads = self.hyper_map(ops.partial(_grad_scale, self.scale), grads)
        if self.clip:
            grads = ops.clip_by_global_norm(grads, self.clip_norm)
        return ops.depend(loss, self.optimizer(grads))


class ClippedLossScaleStep(nn.TrainOneStepWithLossScaleCell):
    """MindSpore's overflow-checking step (GPU/Ascend) with accumulation and clipping after the unscale."""

    def __init__(self, network, optimizer, scale_sense, clip_grad_norm: float | None, micro_batches: int = 1):
        super().__init__(network, optimizer, scale_sense)
        self.clip = clip_grad_norm is not None
        self.clip_norm = float(clip_grad_norm or 1.0)
        self.micro_batches = int(micro_batches)

    def construct(self, *inputs):
        scaling_sens = self.scale_sense
        status = ms.Tensor([0] * 8, ms.int32)
        loss, grads = _accumulate(self, inputs, scaling_sens)
        grads = self.hyper_map(ops.partial(_grad_scale, scaling_sens * self.micro_batches), grads)
        grads = self.grad_reducer(grads)
        cond = self.get_overflow_status(status, grads)
        overflow = self.process_loss_scale(cond)
        if self.clip:
            grads = ops.clip_by_global_norm(grads, self.clip_norm)
        if not overflow:
            loss = ops.depend(loss, self.optimizer(grads))
        return loss, cond, scaling_sens


def build_train_network(network, loss_fn, optimizer, loss_scale: LossScale, amp_level: str = "O0",
                        clip_grad_norm: float | None = None, micro_batches: int = 1, ema_decay: float | None = None,
                        ema_every: int = 1, ema_warmup: bool = False, ema_copy_steps: int = 0):
    """The train cell for ``Model``; ``network`` gets ``amp_level`` applied by MindSpore.

    ``micro_batches``: gradient accumulation (each call takes ``micro_batches`` x B samples);
    ``ema_decay``: also keep an EMA of the weights (:class:`mm_train.learning.ema.EmaStep`); ``ema_copy_steps``:
    the warm-up's optimizer steps, during which the EMA copies the weights (torchvision's reset).
    """
    from mindspore import amp
    plain = amp.build_train_network(network, optimizer, loss_fn, level=amp_level,   # amp cast + loss cell
                                    loss_scale_manager=None)
    with_loss = plain.network
    if loss_scale.detects_overflow:
        if clip_grad_norm is None and micro_batches == 1:
            step = nn.TrainOneStepWithLossScaleCell(with_loss, optimizer, loss_scale.update_cell())
        else:
            step = ClippedLossScaleStep(with_loss, optimizer, loss_scale.update_cell(), clip_grad_norm, micro_batches)
    else:
        step = TrainStep(with_loss, optimizer, loss_scale.scale, clip_grad_norm, micro_batches)
    if ema_decay is not None:
        from mm_train.learning.ema import EmaStep
        step = EmaStep(step, network, ema_decay, ema_every, ema_warmup, ema_copy_steps)
    return step.set_train()


class EvalStep(nn.Cell):
    """``(loss, logits, class index)`` for ``Model``'s metrics; soft labels become their argmax class."""

    def __init__(self, network, loss_fn, cast_fp32: bool = False):
        super().__init__(auto_prefix=False)
        self.network, self.loss_fn, self.cast_fp32 = network, loss_fn, cast_fp32

    def construct(self, data, label):
        outputs = self.network(data)
        if self.cast_fp32:
            outputs = ops.cast(outputs, ms.float32)
        loss = self.loss_fn(outputs, label)
        if label.ndim == outputs.ndim:
            label = label.argmax(-1)
        return loss, outputs, label


def optimizer_step_dataset(dataset: dict, train: dict) -> dict:
    """``dataset`` with the train split batched at ``grad_accumulation`` x ``batch_size`` (one optimizer step)."""
    micro = int(train.get("grad_accumulation", 1) or 1)
    if micro == 1:
        return dataset
    split = dict(dataset.get("train") or {})
    from mm_train.data import batch_size
    split["batch_size"] = batch_size(dataset, "train") * micro
    return {**dataset, "train": split}


def train_step_options(train: dict, task: str = "train") -> dict:
    """``build_train_network``'s ``micro_batches`` and ``ema_decay`` from the ``train`` section (EMA: train only)."""
    ema = train.get("ema_decay") if task == "train" else None
    return {"micro_batches": int(train.get("grad_accumulation", 1) or 1),
            "ema_decay": None if ema is None else float(ema),
            "ema_every": int(train.get("ema_every", 1) or 1), "ema_warmup": bool(train.get("ema_warmup", False))}


def ema_copy_steps(config: Mapping[str, Any], steps_per_epoch: int) -> int:
    """The optimizer steps of ``lr_schedule.warmup_epochs`` when ``train.ema_reset_during_warmup`` is on, else 0."""
    train = config.get("train") or {}
    if not train.get("ema_reset_during_warmup") or train.get("ema_decay") is None:
        return 0
    warmup = (config.get("lr_schedule") or {}).get("warmup_epochs") or 0
    if not isinstance(warmup, (int, float)) or isinstance(warmup, bool) or warmup <= 0:
        raise ConfigError("train.ema_reset_during_warmup", f"is true, but lr_schedule.warmup_epochs is {warmup!r}",
                          expected="a warm-up (lr_schedule.warmup_epochs > 0) to reset the EMA during, "
                                   "or ema_reset_during_warmup: false")
    return max(int(round(float(warmup) * steps_per_epoch)), 1)
