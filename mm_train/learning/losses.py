"""Losses by name, built from the ``loss`` section of a recipe::

    loss: {type: SoftmaxCrossEntropyWithLogits, sparse: true, reduction: mean}
    loss: {type: CrossEntropyLoss, label_smoothing: 0.1}
    loss: {type: FocalLoss, gamma: 2.0}

Every loss except the sparse ``SoftmaxCrossEntropyWithLogits`` takes either class
indices (int, shape ``(N,)``) or soft labels (float, shape ``(N, C)``: one-hot,
smoothed, or mixed by MixUp/CutMix); integer labels are turned into one-hot
vectors of the logits' width.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from mindspore import nn, ops
import mindspore as ms

from mm_train.core.errors import ConfigError, closest
from mm_train.registry import LOSSES

REDUCTIONS = ("mean", "sum", "none")


def _reduction(value: str, where: str = "loss.reduction") -> str:
    if value not in REDUCTIONS:
        raise ConfigError(where, f"got {value!r}", expected=f"one of {list(REDUCTIONS)}",
                          suggestions=closest(str(value), REDUCTIONS))
    return value


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


class DenseLabels(nn.Cell):
    """Feed ``loss(logits, labels)`` float labels shaped like the logits (one-hot for class indices)."""

    def __init__(self, loss: nn.Cell):
        super().__init__()
        self.loss = loss
        self.on, self.off = ms.Tensor(1.0, ms.float32), ms.Tensor(0.0, ms.float32)

    def construct(self, logits, labels):
        if labels.ndim < logits.ndim:
            labels = ops.one_hot(labels.astype(ms.int32), logits.shape[-1], self.on, self.off)
        return self.loss(logits, labels.astype(logits.dtype))


@LOSSES.register("SoftmaxCrossEntropyWithLogits")
def softmax_cross_entropy(sparse: bool = True, reduction: str = "mean"):
    """MindSpore's loss; ``sparse: false`` takes one-hot or mixed float labels (or class indices)."""
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=bool(sparse), reduction=_reduction(reduction))
    return loss if sparse else DenseLabels(loss)


class _SoftCrossEntropy(nn.Cell):
    def __init__(self, label_smoothing: float, reduction: str):
        super().__init__()
        self.smoothing, self.reduction = float(label_smoothing), reduction

    def construct(self, logits, labels):
        classes = logits.shape[-1]
        labels = labels * (1.0 - self.smoothing) + self.smoothing / classes
        loss = -(labels * ops.log_softmax(logits, -1)).sum(-1)
        return _reduce(loss, self.reduction)


@LOSSES.register("CrossEntropyLoss")
def cross_entropy(label_smoothing: float = 0.0, reduction: str = "mean"):
    """``-sum(y * log_softmax(x))`` with ``y = (1 - s) * labels + s / C`` (PyTorch's CrossEntropyLoss)."""
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ConfigError("loss.label_smoothing", f"got {label_smoothing}", expected="a number in [0, 1)")
    return DenseLabels(_SoftCrossEntropy(label_smoothing, _reduction(reduction)))


class _Thresholded(nn.Cell):
    """timm's ``BinaryCrossEntropy(target_threshold=T)``: targets become 1 where above ``T``, else 0
    (so MixUp/CutMix-mixed rows count every class present above the threshold as positive)."""

    def __init__(self, loss: nn.Cell, threshold: float):
        super().__init__()
        self.loss, self.threshold = loss, float(threshold)

    def construct(self, logits, labels):
        return self.loss(logits, ops.cast(labels > self.threshold, labels.dtype))


@LOSSES.register("BCEWithLogitsLoss")
def bce_with_logits(reduction: str = "mean", pos_weight: Optional[Union[float, Sequence[float]]] = None,
                    target_threshold: Optional[float] = None):
    """Sigmoid + binary cross entropy per class (multi-label); class indices become one-hot.
    ``target_threshold: 0.2`` binarises (soft) targets first, as timm's ``--bce-target-thresh``."""
    weight = ms.Tensor(pos_weight, ms.float32) if pos_weight is not None else None
    loss = nn.BCEWithLogitsLoss(reduction=_reduction(reduction), pos_weight=weight)
    if target_threshold is not None:
        if not 0.0 <= float(target_threshold) < 1.0:
            raise ConfigError("loss.target_threshold", f"got {target_threshold}", expected="a number in [0, 1)")
        loss = _Thresholded(loss, target_threshold)
    return DenseLabels(loss)


@LOSSES.register("MSELoss")
def mse(reduction: str = "mean"):
    return DenseLabels(nn.MSELoss(reduction=_reduction(reduction)))


@LOSSES.register("L1Loss")
def l1(reduction: str = "mean"):
    return DenseLabels(nn.L1Loss(reduction=_reduction(reduction)))


class _SoftmaxFocal(nn.Cell):
    def __init__(self, gamma: float, alpha: float | None, reduction: str):
        super().__init__()
        self.gamma, self.reduction = float(gamma), reduction
        self.alpha = 1.0 if alpha is None else float(alpha)

    def construct(self, logits, labels):
        log_p = ops.log_softmax(logits, -1)
        weight = ops.pow(1.0 - ops.exp(log_p), self.gamma)
        loss = -self.alpha * (labels * weight * log_p).sum(-1)
        return _reduce(loss, self.reduction)


@LOSSES.register("FocalLoss")
def focal(gamma: float = 2.0, alpha: Optional[Union[float, Sequence[float]]] = None, reduction: str = "mean"):
    """Softmax focal loss ``-alpha * sum(y * (1 - p) ** gamma * log p)`` (Lin et al. 2017)."""
    return DenseLabels(_SoftmaxFocal(gamma, alpha, _reduction(reduction)))
