"""Blocks the ONNX converter writes that the graph blocks do not cover (registered in BLOCKS).

    scale: {type: ConstantOp, op: Mul, value: 0.5}                 # x * 0.5 (a constant of the source graph)
    proj:  {type: Linear, out_features: 768}                        # x @ W.T + b over the last axis (any rank)
    pool:  {type: Pool2d, mode: max, kernel_size: 3, stride: 2, padding: [1, 1, 1, 1], ceil_mode: true}
    stem:  {type: ConvBNAct, conv: conv1, bn: bn1, activation: ReLU, out_channels: 64, kernel_size: 7, ...}
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
from mindspore import Tensor, nn, ops

from mm_train.core.argtypes import PositiveInt, Size
from mm_train.nn.shapes import ShapeMismatch, expect_chw, pair
from mm_train.registry import BLOCKS

BINARY = {"Add": ops.add, "Sub": ops.sub, "Mul": ops.mul, "Div": ops.div, "Pow": ops.pow}


def _broadcast(a: Sequence[int], b: Sequence[int], what: str) -> tuple:
    try:
        return tuple(int(s) for s in np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise ShapeMismatch(f"{what}: shapes {tuple(a)} and {tuple(b)} do not broadcast") from None


class ConstantOpCell(nn.Cell):
    def __init__(self, op: str, value: np.ndarray, reverse: bool):
        super().__init__()
        self.fn, self.reverse = BINARY[op], reverse
        self.value = Tensor(value)

    def construct(self, x):
        if self.reverse:
            return self.fn(self.value, x)
        return self.fn(x, self.value)


@BLOCKS.register("ConstantOp")
def constant_op(in_shape, op: str, value: Any, reverse: bool = False):
    """``x OP value`` (``value OP x`` with ``reverse``), numpy broadcasting with the batch axis first:
    ``value`` is a number or a nested list of at most 4096 numbers."""
    if op not in BINARY:
        raise ShapeMismatch(f"ConstantOp op '{op}': expected one of {sorted(BINARY)}")
    value = np.asarray(value, np.float32)
    if value.size > 4096:
        raise ShapeMismatch(f"ConstantOp value has {value.size} numbers: at most 4096 (use a Parameter layer)")
    full = _broadcast((1, *in_shape), value.shape, f"ConstantOp {op}")
    if full[0] != 1:
        raise ShapeMismatch(f"ConstantOp value of shape {value.shape} would change the batch axis")
    return ConstantOpCell(op, value, reverse), full[1:]


@BLOCKS.register("Linear")
def linear(in_shape, out_features: PositiveInt, has_bias: bool = True):
    """A dense layer over the last axis of an input of any rank (torch's ``nn.Linear``); parameters
    ``weight`` [out_features, in_features] and ``bias``."""
    return nn.Dense(int(in_shape[-1]), out_features, has_bias=has_bias), (*in_shape[:-1], out_features)


class Pool2dCell(nn.Cell):
    def __init__(self, mode, kernel, stride, padding, ceil_mode, count_include_pad, dilation):
        super().__init__()
        top, bottom, left, right = padding
        self.symmetric = top == bottom and left == right
        self.pads = (left, right, top, bottom)
        self.fill = float("-inf") if mode == "max" else 0.0
        # asymmetric padding is explicit; an average then divides by the real elements of each window
        self.divide = mode == "avg" and not self.symmetric and not count_include_pad
        inner = (top, left) if self.symmetric else 0
        if mode == "max":
            self.pool = nn.MaxPool2d(kernel, stride, pad_mode="pad", padding=inner, dilation=dilation,
                                     ceil_mode=ceil_mode)
        else:
            self.pool = nn.AvgPool2d(kernel, stride, pad_mode="pad", padding=inner, ceil_mode=ceil_mode,
                                     count_include_pad=count_include_pad or not self.symmetric)

    def construct(self, x):
        if self.symmetric:
            return self.pool(x)
        out = self.pool(ops.pad(x, self.pads, value=self.fill))
        if self.divide:
            out = out / self.pool(ops.pad(ops.ones_like(x[:1, :1]), self.pads, value=0.0))
        return out


def _pool_out(size, kernel, stride, before, after, dilation, ceil_mode):
    span = size + before + after - dilation * (kernel - 1) - 1
    out = (math.ceil if ceil_mode else math.floor)(span / stride) + 1
    if ceil_mode and (out - 1) * stride >= size + before:   # the last window must start inside the input
        out -= 1
    return out


@BLOCKS.register("Pool2d")
def pool2d(in_shape, mode: str, kernel_size: Size, stride: Size = 1, padding: Sequence[int] = (0, 0, 0, 0),
           ceil_mode: bool = False, count_include_pad: bool = False, dilation: Size = 1):
    """ONNX MaxPool / AveragePool: ``mode`` max or avg, ``padding`` [top, bottom, left, right]."""
    c, h, w = expect_chw(in_shape, "Pool2d")
    if mode not in ("max", "avg"):
        raise ShapeMismatch(f"Pool2d mode '{mode}': expected max or avg")
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel_size), pair(stride), pair(dilation)
    top, bottom, left, right = (int(p) for p in padding)
    out = (c, _pool_out(h, kh, sh, top, bottom, dh, ceil_mode), _pool_out(w, kw, sw, left, right, dw, ceil_mode))
    if min(out[1:]) < 1:
        raise ShapeMismatch(f"Pool2d kernel {kernel_size} does not fit the input {tuple(in_shape)}")
    return Pool2dCell(mode, (kh, kw), (sh, sw), (top, bottom, left, right), ceil_mode, count_include_pad,
                      (dh, dw)), out


class GeluCell(nn.Cell):
    def __init__(self, approximate: str):
        super().__init__()
        self.approximate = approximate

    def construct(self, x):
        return ops.gelu(x, approximate=self.approximate)


@BLOCKS.register("Gelu")
def gelu(in_shape, approximate: str = "none"):
    """ONNX Gelu: exact (``none``, with erf) or the ``tanh`` approximation (MindSpore's nn.GELU default)."""
    if approximate not in ("none", "tanh"):
        raise ShapeMismatch(f"Gelu approximate '{approximate}': expected none or tanh")
    return GeluCell(approximate), tuple(in_shape)


ACTIVATIONS = {"ReLU": nn.ReLU, "ReLU6": nn.ReLU6, "SiLU": nn.SiLU, "HSwish": nn.HSwish, "Sigmoid": nn.Sigmoid}


class ConvBNActCell(nn.Cell):
    """A convolution, a BatchNorm and an activation, with the child names of the source network."""

    def __init__(self, conv_name, conv, bn_name, bn, act):
        super().__init__()
        self.order = (conv_name, bn_name)
        self.insert_child_to_cell(conv_name, conv)
        self.insert_child_to_cell(bn_name, bn)
        self.act = act

    def construct(self, x):
        x = self._cells[self.order[1]](self._cells[self.order[0]](x))
        return x if self.act is None else self.act(x)


@BLOCKS.register("ConvBNAct")
def conv_bn_act(in_shape, conv: str, bn: str, out_channels: PositiveInt, kernel_size: Size, stride: Size = 1,
                padding: Sequence[int] = (0, 0, 0, 0), dilation: Size = 1, group: PositiveInt = 1,
                has_bias: bool = False, eps: float = 1e-5, momentum: float = 0.9,
                activation: Optional[str] = None):
    """Conv2d + BatchNorm2d (+ activation) as one layer whose children keep the source's names: layer
    ``features.0`` with ``conv: "0"``, ``bn: "1"`` owns ``features.0.0.weight`` and ``features.0.1.gamma``."""
    from mm_train.nn.layers import batchnorm2d, conv2d
    if activation is not None and activation not in ACTIVATIONS:
        raise ShapeMismatch(f"ConvBNAct activation '{activation}': expected one of {sorted(ACTIVATIONS)}")
    cell, out = conv2d(in_shape, out_channels, pair(kernel_size), pair(stride), "pad",
                       tuple(int(p) for p in padding), pair(dilation), group, has_bias)
    norm, _ = batchnorm2d(out, eps=eps, momentum=momentum)
    act = ACTIVATIONS[activation]() if activation else None
    return ConvBNActCell(str(conv), cell, str(bn), norm, act), out


@BLOCKS.register("MultiheadAttention")
def multihead_attention(in_shape, num_heads: PositiveInt):
    """Self-attention on ``(tokens, dim)``: torch's ``nn.MultiheadAttention(dim, num_heads)(x, x, x)[0]``
    with its parameters ``in_proj_weight`` [3*dim, dim], ``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``
    (what the ONNX converter fuses torch's exported attention into)."""
    from mm_train.nn.transformer import SelfAttention
    if len(in_shape) != 2 or in_shape[-1] % num_heads:
        raise ShapeMismatch(f"MultiheadAttention: input {tuple(in_shape)} must be (tokens, dim) with dim a "
                            f"multiple of num_heads {num_heads}")
    return SelfAttention(int(in_shape[-1]), int(num_heads)), tuple(in_shape)
