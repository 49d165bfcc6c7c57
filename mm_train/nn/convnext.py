"""ConvNeXt's block: depthwise 7x7 conv -> LayerNorm over channels -> MLP (4x, GELU) -> layer scale,
plus the input (with stochastic depth on the branch). Names follow torchvision's CNBlock::

    stage1: {type: Sequential, layers: [{type: ConvNeXtBlock, times: 3}]}
    # -> stage1.0.block.0.weight (dw conv), stage1.0.block.2.gamma (LayerNorm), stage1.0.block.3.weight
    #    (Linear C -> 4C), stage1.0.block.5.weight (4C -> C), stage1.0.layer_scale [C, 1, 1]

``block.1`` and ``block.6`` are the NCHW <-> NHWC permutations, ``block.4`` the GELU (exact).
``recompute: true`` keeps only the branch's input and output for the backward pass (less memory in PyNative mode)::

    - {type: ConvNeXtBlock, stochastic_depth: 0.1, recompute: true}
"""
from __future__ import annotations

import numpy as np
import mindspore as ms
from mindspore import nn, ops

from mm_train.core.argtypes import PositiveInt
from mm_train.core.errors import ConfigError
from mm_train.nn.norms import layer_norm
from mm_train.nn.shapes import expect_chw
from mm_train.nn.stochastic_depth import StochasticDepthCell, check_p
from mm_train.registry import BLOCKS


class Permute(nn.Cell):
    def __init__(self, axes):
        super().__init__()
        self.axes = tuple(axes)

    def construct(self, x):
        return ops.transpose(x, self.axes)


class ConvNeXtBlockCell(nn.Cell):
    def __init__(self, channels, kernel, expansion, layer_scale, drop, eps):
        super().__init__()
        hidden = channels * expansion
        self.block = nn.SequentialCell([
            nn.Conv2d(channels, channels, kernel, pad_mode="pad", padding=(kernel - 1) // 2, group=channels,
                      has_bias=True),
            Permute((0, 2, 3, 1)), layer_norm(channels, eps), nn.Dense(channels, hidden),
            nn.GELU(approximate=False), nn.Dense(hidden, channels), Permute((0, 3, 1, 2))])
        self.layer_scale = ms.Parameter(ms.Tensor(np.full((channels, 1, 1), layer_scale, np.float32)),
                                        name="layer_scale")
        self.stochastic_depth = StochasticDepthCell(drop)

    def construct(self, x):
        y = self.block(x)
        drop = self.stochastic_depth
        if self.training and drop.p > 0.0:   # layer scale and drop mask as one (N, C, 1, 1) factor
            return x + y * (self.layer_scale * ops.floor(drop.uniform((x.shape[0], 1, 1, 1)) + drop.keep) / drop.keep)
        return x + self.layer_scale * y


@BLOCKS.register("ConvNeXtBlock")
def convnext_block(in_shape, kernel_size: PositiveInt = 7, expansion: PositiveInt = 4, layer_scale: float = 1e-6,
                   stochastic_depth: float = 0.0, eps: float = 1e-6, recompute: bool = False):
    """ConvNeXt's block (channels kept): ``x + drop(layer_scale * MLP(LayerNorm(dwconv(x))))``;
    ``layer_scale`` is the initial value of the per-channel scale. ``recompute: true``: keep only the
    input and output of the branch (dwconv .. MLP) for the backward pass and compute the rest again
    (MindSpore's ``Cell.recompute``; PyTorch's activation checkpointing): in PyNative mode a stage-1
    block of ConvNeXt-T then keeps a few MB per image instead of 24 MB, for one more forward pass of
    the branch (docs/performance.md)."""
    c, h, w = expect_chw(in_shape, "ConvNeXtBlock")
    if not isinstance(recompute, bool):
        raise ConfigError(".recompute", f"got {recompute!r}", expected="true or false")
    drop = check_p(stochastic_depth, ".stochastic_depth")
    cell = ConvNeXtBlockCell(c, kernel_size, expansion, layer_scale, drop, eps)
    if recompute:   # the branch only: a recomputed drop mask would be drawn anew, unlike the forward's
        cell.block.recompute()
    return cell, (c, h, w)
