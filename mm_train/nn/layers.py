"""MindSpore's own layers, registered by their own names, with their input size inferred.

    conv1: {type: Conv2d, out_channels: 64, kernel_size: 7, stride: 2, pad_mode: same}
    fc:    {type: Dense, out_channels: 10}

Each factory takes the input shape first and returns ``(cell, output_shape)``.
"""
from __future__ import annotations

from typing import Literal, Optional, Sequence

import math

from mindspore import nn, ops

from mm_train.nn.shapes import expect_chw, expect_flat, spatial_out
from mm_train.core.argtypes import Initializer, NonNegativeInt, Padding, PadMode, PositiveInt, Size
from mm_train.core.errors import ConfigError
from mm_train.registry import BLOCKS


def _init(**inits):
    """Only the initialisers the recipe sets, so MindSpore's defaults apply otherwise."""
    return {k: v for k, v in inits.items() if v is not None}


@BLOCKS.register("Conv2d")
def conv2d(in_shape, out_channels: PositiveInt, kernel_size: Size, stride: Size = 1, pad_mode: PadMode = "same",
           padding: Padding = 0, dilation: Size = 1, group: PositiveInt = 1, has_bias: bool = False,
           weight_init: Initializer = None, bias_init: Initializer = None):
    c, h, w = expect_chw(in_shape, "Conv2d")
    kernel_size, stride, dilation, padding = (tuple(v) if isinstance(v, list) else v   # YAML lists -> tuples
                                              for v in (kernel_size, stride, dilation, padding))
    cell = nn.Conv2d(c, out_channels, kernel_size, stride=stride, pad_mode=pad_mode, padding=padding,
                     dilation=dilation, group=group, has_bias=has_bias,
                     **_init(weight_init=weight_init, bias_init=bias_init))
    return cell, (out_channels, *spatial_out((h, w), kernel_size, stride, pad_mode, padding, dilation, "Conv2d"))


@BLOCKS.register("BatchNorm2d")
def batchnorm2d(in_shape, eps: float = 1e-5, momentum: float = 0.9, affine: bool = True,
                gamma_init: Initializer = "ones", beta_init: Initializer = "zeros",
                moving_mean_init: Initializer = "zeros", moving_var_init: Initializer = "ones",
                use_batch_statistics: Optional[bool] = None):
    c, _, _ = expect_chw(in_shape, "BatchNorm2d")
    return nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=affine, gamma_init=gamma_init,
                          beta_init=beta_init, moving_mean_init=moving_mean_init,
                          moving_var_init=moving_var_init,
                          use_batch_statistics=use_batch_statistics), tuple(in_shape)


@BLOCKS.register("Dense")
def dense(in_shape, out_channels: PositiveInt, has_bias: bool = True, weight_init: Initializer = None,
          bias_init: Initializer = None, activation: Optional[str] = None):
    features = expect_flat(in_shape, "Dense")
    return nn.Dense(features, out_channels, has_bias=has_bias, activation=activation,
                    **_init(weight_init=weight_init, bias_init=bias_init)), (out_channels,)


def _pool(cls, name):
    def factory(in_shape, kernel_size: Size = 1, stride: Size = 1, pad_mode: PadMode = "valid",
                padding: Padding = 0):
        c, h, w = expect_chw(in_shape, name)
        extra = {"padding": padding} if pad_mode.lower() == "pad" else {}
        cell = cls(kernel_size=kernel_size, stride=stride, pad_mode=pad_mode, **extra)
        return cell, (c, *spatial_out((h, w), kernel_size, stride, pad_mode, padding, 1, name))
    factory.__name__ = factory.__qualname__ = name.lower()
    return factory


BLOCKS.register("MaxPool2d", _pool(nn.MaxPool2d, "MaxPool2d"))
BLOCKS.register("AvgPool2d", _pool(nn.AvgPool2d, "AvgPool2d"))


class Flatten(nn.Flatten):
    """``nn.Flatten`` that remembers its input shape and order: ``order: hwc`` flattens channels last, as
    Keras does, so a Dense kernel imported from Keras after it needs no permutation."""

    def __init__(self, in_shape, order: str = "chw"):
        super().__init__()
        self.in_shape, self.order = tuple(in_shape), order
        self.channels_last = order == "hwc" and len(self.in_shape) == 3

    def construct(self, x):
        if self.channels_last:
            x = x.transpose(0, 2, 3, 1)
        return super().construct(x)


@BLOCKS.register("Flatten")
def flatten(in_shape, start_dim: int = 1, order: Literal["chw", "hwc"] = "chw"):
    """Axes ``start_dim`` .. last joined into one (torch's ``start_dim``; the batch axis is 0); ``order: hwc``
    flattens a feature map channels last, as Keras does."""
    if start_dim == 1:
        return Flatten(in_shape, order), (math.prod(in_shape),)
    if order != "chw":
        raise ConfigError(".order", f"got {order!r} with start_dim {start_dim}", expected="order: hwc only with start_dim: 1")
    from mm_train.nn.merge import sample_axis
    from mm_train.nn.tensor_shape import ReshapeCell
    i = sample_axis(start_dim, len(in_shape), "Flatten", "start_dim")
    out = (*in_shape[:i], math.prod(in_shape[i:]))
    return ReshapeCell(out), out


@BLOCKS.register("Dropout")
def dropout(in_shape, p: float = 0.5):
    return nn.Dropout(p=p), tuple(in_shape)


def _elementwise(cls, name):
    def factory(in_shape):
        return cls(), tuple(in_shape)
    factory.__name__ = factory.__qualname__ = name.lower()
    return factory


for _name in ("ReLU", "ReLU6", "GELU", "Sigmoid", "Tanh", "SiLU", "HSwish"):
    BLOCKS.register(_name, _elementwise(getattr(nn, _name), _name))


@BLOCKS.register("Softmax")
def softmax(in_shape, axis: int = -1):
    """Softmax along ``axis`` (the last by default; the batch axis is 0)."""
    if axis != -1:
        from mm_train.nn.merge import sample_axis
        axis = sample_axis(axis, len(in_shape), "Softmax") + 1
    return nn.Softmax(axis=axis), tuple(in_shape)


@BLOCKS.register("Identity")
def identity(in_shape):
    return nn.Identity(), tuple(in_shape)


@BLOCKS.register("LeakyReLU")
def leaky_relu(in_shape, alpha: float = 0.2):
    return nn.LeakyReLU(alpha=alpha), tuple(in_shape)


class PadCell(nn.Cell):
    """``ops.pad`` with torch's padding order (last axis first) and a mode and fill value."""

    def __init__(self, padding: tuple, mode: str, value: float):
        super().__init__()
        self.padding, self.mode, self.value = padding, mode, value

    def construct(self, x):
        if self.mode == "constant":
            return ops.pad(x, self.padding, "constant", self.value)
        return ops.pad(x, self.padding, self.mode)


PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "replicate": "replicate",
             "wrap": "circular", "circular": "circular"}


@BLOCKS.register("Pad")
def pad(in_shape, paddings: Optional[Sequence[Sequence[NonNegativeInt]]] = None,
        pads: Optional[Sequence[NonNegativeInt]] = None, mode: str = "CONSTANT", value: float = 0.0):
    """``paddings``: ``[before, after]`` per axis, with or without the batch axis first (MindSpore's nn.Pad);
    or ``pads`` as ONNX writes them, ``[begin of each axis..., end of each axis...]`` (with or without the batch
    axis), ``mode`` constant / reflect / edge / wrap and the fill ``value``."""
    from mm_train.nn.shapes import ShapeMismatch
    if (paddings is None) == (pads is None):
        from mm_train.core.errors import ConfigError
        raise ConfigError(".pads", "give either paddings or pads", expected="one of the two")
    if pads is not None:
        rank = len(in_shape)
        pads = [int(p) for p in pads]
        if len(pads) == 2 * (rank + 1):
            if pads[0] or pads[rank + 1]:
                raise ShapeMismatch(f"Pad pads {pads} pad the batch axis")
            pads = pads[1:rank + 1] + pads[rank + 2:]
        if len(pads) != 2 * rank:
            raise ShapeMismatch(f"Pad pads {pads} do not fit the input shape {tuple(in_shape)}: give the "
                                "begins of every axis, then the ends")
        kind = PAD_MODES.get(str(mode).lower())
        if kind is None:
            from mm_train.core.errors import ConfigError, closest
            raise ConfigError(".mode", f"unknown mode {mode!r}", expected=f"one of {sorted(PAD_MODES)}",
                              suggestions=closest(str(mode).lower(), PAD_MODES))
        torch_order = [v for axis in reversed(range(rank)) for v in (pads[axis], pads[rank + axis])]
        while len(torch_order) > 2 and torch_order[-2:] == [0, 0]:   # outer axes without padding
            torch_order = torch_order[:-2]
        out = tuple(s + pads[i] + pads[rank + i] for i, s in enumerate(in_shape))
        return PadCell(tuple(torch_order), kind, float(value)), out
    paddings = [tuple(int(v) for v in p) for p in paddings]
    if len(paddings) == len(in_shape):
        paddings = [(0, 0)] + paddings
    if len(paddings) != len(in_shape) + 1 or any(len(p) != 2 for p in paddings):
        raise ShapeMismatch(f"Pad paddings {paddings} do not fit the input shape {tuple(in_shape)}: "
                            "give [before, after] for each axis")
    out = tuple(s + a + b for s, (a, b) in zip(in_shape, paddings[1:]))
    return nn.Pad(paddings=tuple(paddings), mode=mode), out


@BLOCKS.register("BatchNorm1d")
def batchnorm1d(in_shape, eps: float = 1e-5, momentum: float = 0.9, affine: bool = True,
                gamma_init: Initializer = "ones", beta_init: Initializer = "zeros"):
    features = expect_flat(in_shape, "BatchNorm1d")
    return nn.BatchNorm1d(features, eps=eps, momentum=momentum, affine=affine, gamma_init=gamma_init,
                          beta_init=beta_init), tuple(in_shape)


@BLOCKS.register("InstanceNorm2d")
def instancenorm2d(in_shape, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
    c, _, _ = expect_chw(in_shape, "InstanceNorm2d")
    return nn.InstanceNorm2d(c, eps=eps, momentum=momentum, affine=affine), tuple(in_shape)


@BLOCKS.register("GroupNorm")
def groupnorm(in_shape, num_groups: PositiveInt, eps: float = 1e-5, affine: bool = True):
    c, _, _ = expect_chw(in_shape, "GroupNorm")
    return nn.GroupNorm(num_groups, c, eps=eps, affine=affine), tuple(in_shape)


@BLOCKS.register("AdaptiveAvgPool2d")
def adaptive_avg_pool2d(in_shape, output_size: Size):
    c, _, _ = expect_chw(in_shape, "AdaptiveAvgPool2d")
    from mm_train.nn.shapes import pair
    return nn.AdaptiveAvgPool2d(output_size), (c, *pair(output_size))
