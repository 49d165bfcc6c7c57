"""One-input element-wise blocks with ONNX's names: Erf, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Clip.

    gelu_inner: {type: Erf}
    clip: {type: Clip, min: 0.0, max: 6.0}

The activations (ReLU, Sigmoid, GELU, SiLU, HSwish, HSigmoid, Tanh, ReLU6, ...) and Identity are
registered with MindSpore's layers (mm_train.nn.layers, mm_train.nn.activations).
"""
from __future__ import annotations

from typing import Optional

from mindspore import nn, ops

from mm_train.registry import BLOCKS


class Unary(nn.Cell):
    """``op(x)`` for a one-input primitive ``op``."""

    def __init__(self, op):
        super().__init__()
        self.op = op

    def construct(self, x):
        return self.op(x)


def _unary(op_class, name: str):
    def factory(in_shape):
        return Unary(op_class()), in_shape
    factory.__name__ = factory.__qualname__ = name.lower()
    factory.__doc__ = f"{name} of each element."
    return factory


for _name, _op in (("Erf", ops.Erf), ("Sqrt", ops.Sqrt), ("Exp", ops.Exp), ("Log", ops.Log), ("Neg", ops.Neg),
                   ("Abs", ops.Abs), ("Reciprocal", ops.Reciprocal)):
    BLOCKS.register(_name, _unary(_op, _name), elementwise=True)


class ClipCell(nn.Cell):
    def __init__(self, low, high):
        super().__init__()
        self.low, self.high = low, high

    def construct(self, x):
        return ops.clamp(x, self.low, self.high)


@BLOCKS.register("Clip", elementwise=True)
def clip(in_shape, min: Optional[float] = None, max: Optional[float] = None):  # noqa: A002 (ONNX's names)
    """Each element limited to ``[min, max]`` (either may be null: no limit)."""
    return ClipCell(None if min is None else float(min), None if max is None else float(max)), in_shape
