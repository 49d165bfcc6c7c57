"""Blocks that merge earlier layers (ONNX semantics, numpy broadcasting): Add, Sub, Mul, Div, Pow, MatMul, Concat.

    skip: {type: Add, inputs: [conv2, input]}
    cat:  {type: Concat, axis: 1, inputs: [b1x1, b3x3, b5x5, pool]}     # axis 1: the channels of NCHW
    attn: {type: MatMul, inputs: [q, k_t]}

Axes count the batch axis as 0 (it cannot be concatenated). A ``Parameter`` whose shape does not
start with 1 has no batch axis and broadcasts right-aligned (a ``[C, 1, 1]`` scale).
"""
from __future__ import annotations

from typing import Sequence

from mindspore import nn, ops

from mm_train.nn.shapes import ShapeMismatch, Unbatched, is_unbatched
from mm_train.registry import BLOCKS

MANY = "many"
BATCH = None   # the batch axis in a whole shape


def whole(shape) -> list:
    """The whole shape of an input: ``[BATCH, *shape]``, or the shape itself when it has no batch axis."""
    return list(shape) if is_unbatched(shape) else [BATCH, *shape]


def per_sample(full: list, kind: str):
    """Back from a whole shape: the per-sample shape, or an :class:`Unbatched` one."""
    if BATCH in full[1:]:
        raise ShapeMismatch(f"{kind}: a tensor without a batch axis has more axes than the batched one, "
                            f"so the batch axis does not line up (result {full})")
    return tuple(full[1:]) if full and full[0] is BATCH else Unbatched(full)


def broadcast(shapes: Sequence, kind: str) -> list:
    """numpy's broadcasting of whole shapes (right-aligned; 1 stretches)."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(-rank, 0):
        dims = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(dims) > 1:
            shown = ", ".join("(" + ", ".join("N" if d is BATCH else str(d) for d in s) + ")" for s in shapes)
            raise ShapeMismatch(f"{kind} cannot broadcast the shapes {shown} (N: the batch): axis {rank + axis} "
                                "differs and is not 1")
        out.append(dims.pop() if dims else 1)
    return out


class Elementwise(nn.Cell):
    """``op(op(x0, x1), x2) ...`` for a binary primitive ``op``."""

    def __init__(self, op):
        super().__init__()
        self.op = op

    def construct(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = self.op(out, x)
        return out


class Pairwise(Elementwise):
    """``op(a, b)``: two inputs (the common case, simpler to compile)."""

    def construct(self, a, b):
        return self.op(a, b)


def _binary(op_class, name: str):
    def factory(in_shape):
        cell = (Pairwise if len(in_shape) == 2 else Elementwise)(op_class())
        return cell, per_sample(broadcast([whole(s) for s in in_shape], name), name)
    factory.__name__ = factory.__qualname__ = name.lower()
    factory.__doc__ = f"{name} of its inputs, element by element (numpy broadcasting)."
    return factory


BLOCKS.register("Add", _binary(ops.Add, "Add"), inputs=MANY)
BLOCKS.register("Mul", _binary(ops.Mul, "Mul"), inputs=MANY)
BLOCKS.register("Sub", _binary(ops.Sub, "Sub"), inputs=2)
BLOCKS.register("Div", _binary(ops.Div, "Div"), inputs=2)
BLOCKS.register("Pow", _binary(ops.Pow, "Pow"), inputs=2)


class MatMulCell(nn.Cell):
    def construct(self, a, b):
        return ops.matmul(a, b)


@BLOCKS.register("MatMul", inputs=2)
def matmul(in_shape):
    """numpy's matmul of two inputs: ``(..., m, k) @ (..., k, n) -> (..., m, n)``; a 1-D second input is a vector."""
    a, b = (whole(s) for s in in_shape)
    if len(a) < 2:
        raise ShapeMismatch(f"MatMul needs at least 2 axes in its first input, gets {tuple(a)}")
    if len(b) == 1:
        if a[-1] != b[0]:
            raise ShapeMismatch(f"MatMul: {a[-1]} columns against a vector of {b[0]}")
        return MatMulCell(), per_sample(a[:-1], "MatMul")
    if a[-1] != b[-2]:
        raise ShapeMismatch(f"MatMul: the first input has {a[-1]} columns but the second {b[-2]} rows "
                            f"(shapes {in_shape[0]} and {in_shape[1]}, batch excluded)")
    lead = broadcast([a[:-2], b[:-2]], "MatMul") if len(a) > 2 or len(b) > 2 else []
    return MatMulCell(), per_sample([*lead, a[-2], b[-1]], "MatMul")


def sample_axis(axis: int, rank: int, kind: str, key: str = "axis") -> int:
    """An ONNX axis (batch = 0, negative from the end) as an index into the per-sample shape of ``rank`` axes."""
    full = axis + rank + 1 if axis < 0 else axis
    if not 1 <= full <= rank:
        raise ShapeMismatch(f"{kind} {key} {axis} is not an axis of a sample with {rank} axes "
                            f"(the batch axis is 0 and cannot be used; 1 .. {rank} or -{rank} .. -1)")
    return full - 1


class ConcatCell(nn.Cell):
    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def construct(self, *xs):
        return ops.concat(xs, self.axis)


@BLOCKS.register("Concat", inputs=MANY)
def concat(in_shape, axis: int = 1):
    """Its inputs joined along ``axis`` (1: the channels of NCHW); the other axes must match."""
    if any(is_unbatched(s) for s in in_shape):
        raise ShapeMismatch("Concat needs batched inputs; put a BroadcastBatch on a Parameter first")
    ranks = {len(s) for s in in_shape}
    if len(ranks) > 1:
        raise ShapeMismatch(f"Concat inputs have different numbers of axes: {[tuple(s) for s in in_shape]}")
    rank = ranks.pop()
    i = sample_axis(axis, rank, "Concat")
    rest = {tuple(s[:i]) + tuple(s[i + 1:]) for s in in_shape}
    if len(rest) > 1:
        raise ShapeMismatch(f"Concat on axis {axis}: the other axes differ: {[tuple(s) for s in in_shape]}")
    out = list(in_shape[0])
    out[i] = sum(int(s[i]) for s in in_shape)
    return ConcatCell(i + 1), tuple(out)
