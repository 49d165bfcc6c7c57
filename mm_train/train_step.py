"""The one-step training cell: loss scale, gradient clipping by global norm, then the optimizer.

MindSpore's ``Model`` has no gradient clipping, so the runner builds the train
network itself and hands it to ``Model``::

    train_net = build_train_network(network, loss_fn, optimizer, LossScale("fixed", 1024),
                                    amp_level="O0", clip_grad_norm=1.0)
    model = Model(train_net, eval_network=nn.WithEvalCell(network, loss_fn), ...)

The gradients are unscaled here before clipping, so the optimizer always runs
with ``loss_scale=1``. Mixed precision (``amp_level``) is MindSpore's own
``amp.build_train_network`` processing.
"""
from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops

from mm_train.amp import LossScale

_grad_scale = ops.MultitypeFuncGraph("grad_scale")


@_grad_scale.register("Tensor", "Tensor")
def _scale(scale, grad):
    return grad * ops.cast(ops.reciprocal(scale), ops.dtype(grad))


class TrainStep(nn.TrainOneStepCell):
    """Forward, backward with ``sens=scale``, unscale, optional clip, optimizer step; returns the loss."""

    def __init__(self, network, optimizer, scale: float = 1.0, clip_grad_norm: float | None = None):
        super().__init__(network, optimizer, sens=float(scale))
        self.scale = ms.Tensor(float(scale), ms.float32)
        self.unscale = float(scale) != 1.0
        self.clip = clip_grad_norm is not None
        self.clip_norm = float(clip_grad_norm or 1.0)
        self.hyper_map = ops.HyperMap()

    def construct(self, *inputs):
        loss = self.network(*inputs)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad(self.network, self.weights)(*inputs, sens)
        grads = self.grad_reducer(grads)
        if self.unscale:
            grads = self.hyper_map(ops.partial(_grad_scale, self.scale), grads)
        if self.clip:
            grads = ops.clip_by_global_norm(grads, self.clip_norm)
        return ops.depend(loss, self.optimizer(grads))


class ClippedLossScaleStep(nn.TrainOneStepWithLossScaleCell):
    """MindSpore's overflow-checking step (GPU/Ascend) with clipping after the unscale."""

    def __init__(self, network, optimizer, scale_sense, clip_grad_norm: float):
        super().__init__(network, optimizer, scale_sense)
        self.clip_norm = float(clip_grad_norm)

    def construct(self, *inputs):
        loss = self.network(*inputs)
        scaling_sens = self.scale_sense
        status = ms.Tensor([0] * 8, ms.int32)
        sens = ops.ones_like(loss) * ops.cast(scaling_sens, ops.dtype(loss))
        grads = self.grad(self.network, self.weights)(*inputs, sens)
        grads = self.hyper_map(ops.partial(_grad_scale, scaling_sens), grads)
        grads = self.grad_reducer(grads)
        cond = self.get_overflow_status(status, grads)
        overflow = self.process_loss_scale(cond)
        grads = ops.clip_by_global_norm(grads, self.clip_norm)
        if not overflow:
            loss = ops.depend(loss, self.optimizer(grads))
        return loss, cond, scaling_sens


def build_train_network(network, loss_fn, optimizer, loss_scale: LossScale, amp_level: str = "O0",
                        clip_grad_norm: float | None = None):
    """The train cell for ``Model``; ``network`` gets ``amp_level`` applied by MindSpore."""
    from mindspore import amp
    plain = amp.build_train_network(network, optimizer, loss_fn, level=amp_level,   # amp cast + loss cell
                                    loss_scale_manager=None)
    with_loss = plain.network
    if loss_scale.detects_overflow:
        if clip_grad_norm is None:
            return nn.TrainOneStepWithLossScaleCell(with_loss, optimizer, loss_scale.update_cell()).set_train()
        return ClippedLossScaleStep(with_loss, optimizer, loss_scale.update_cell(), clip_grad_norm).set_train()
    return TrainStep(with_loss, optimizer, loss_scale.scale, clip_grad_norm).set_train()


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
