"""Losses by name: ``loss: {type: SoftmaxCrossEntropyWithLogits, sparse: true, reduction: mean}``."""
from __future__ import annotations

from mindspore import nn

from mm_train.registry import LOSSES


@LOSSES.register("SoftmaxCrossEntropyWithLogits")
def softmax_cross_entropy(sparse=True, reduction="mean"):
    return nn.SoftmaxCrossEntropyWithLogits(sparse=sparse, reduction=reduction)
