"""Blocks that move, pick or reduce axes (ONNX semantics; axes count the batch axis as 0):
Reshape, Transpose, Squeeze, Unsqueeze, Slice, Gather, BroadcastBatch (Expand), ReduceMean, ReduceSum.

    tokens: {type: Reshape, shape: [768, -1]}                 # per sample: (768, 14, 14) -> (768, 196)
    seq:    {type: Transpose, perm: [0, 2, 1]}                # (N, 768, 196) -> (N, 196, 768)
    cls:    {type: Gather, axis: 1, index: 0}                 # (N, 197, 768) -> (N, 768)
    token:  {type: BroadcastBatch, inputs: [class_token, seq]}   # (1, 1, 768) -> (N, 1, 768)
    pooled: {type: ReduceMean, axes: [2, 3], keepdims: false}

``shape`` (Reshape, BroadcastBatch) is per sample, the batch excluded. Flatten, Softmax, Pad and
LayerNorm live with MindSpore's layers (mm_train.nn.layers, mm_train.nn.norms).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np
from mindspore import Tensor, nn, ops

from mm_train.core.errors import ConfigError
from mm_train.nn.merge import sample_axis
from mm_train.nn.shapes import ShapeMismatch
from mm_train.registry import BLOCKS


def _axes(axes, rank: int, kind: str, key: str = "axes") -> list:
    values = [axes] if isinstance(axes, int) else list(axes)
    out = sorted({sample_axis(int(a), rank, kind, key) for a in values})
    if len(out) != len(values):
        raise ConfigError(f".{key}", f"got {axes!r}", expected="each axis once")
    return out


class ReshapeCell(nn.Cell):
    """``x`` reshaped to ``(batch, *shape)``."""

    def __init__(self, shape: tuple):
        super().__init__()
        self.shape = tuple(shape)

    def construct(self, x):
        return ops.reshape(x, (-1,) + self.shape)


@BLOCKS.register("Reshape")
def reshape(in_shape, shape: Sequence[int]):
    """Each sample to ``shape`` (one -1: inferred; 0: keeps that axis, as ONNX)."""
    shape = [int(s) for s in shape]
    size = math.prod(in_shape)
    out = [in_shape[i] if s == 0 and i < len(in_shape) else s for i, s in enumerate(shape)]
    if out.count(-1) > 1 or any(s < -1 or s == 0 for s in out):
        raise ConfigError(".shape", f"got {shape!r}", expected="positive sizes, at most one -1, 0 for 'keep'")
    known = math.prod(s for s in out if s != -1)
    if -1 in out:
        if known == 0 or size % known:
            raise ShapeMismatch(f"Reshape cannot make {tuple(in_shape)} ({size} values) into {tuple(shape)}")
        out[out.index(-1)] = size // known
    if math.prod(out) != size:
        raise ShapeMismatch(f"Reshape cannot make {tuple(in_shape)} ({size} values) into {tuple(out)} "
                            f"({math.prod(out)} values)")
    return ReshapeCell(tuple(out)), tuple(out)


class TransposeCell(nn.Cell):
    def __init__(self, perm: tuple):
        super().__init__()
        self.perm = tuple(perm)

    def construct(self, x):
        return ops.transpose(x, self.perm)


@BLOCKS.register("Transpose")
def transpose(in_shape, perm: Sequence[int]):
    """Axes reordered by ``perm`` (every axis, the batch axis 0 first: ``[0, 2, 3, 1]`` is NCHW -> NHWC)."""
    perm = [int(p) for p in perm]
    if sorted(perm) != list(range(len(in_shape) + 1)) or perm[0] != 0:
        raise ShapeMismatch(f"Transpose perm {perm} is not a reordering of the {len(in_shape) + 1} axes of "
                            f"(batch, {', '.join(map(str, in_shape))}) that keeps the batch axis 0 first")
    return TransposeCell(tuple(perm)), tuple(in_shape[p - 1] for p in perm[1:])


@BLOCKS.register("Squeeze")
def squeeze(in_shape, axes: Union[int, Sequence[int], None] = None):
    """The size-1 ``axes`` removed (null: every size-1 axis of a sample)."""
    rank = len(in_shape)
    picked = [i for i, s in enumerate(in_shape) if s == 1] if axes is None else _axes(axes, rank, "Squeeze")
    wrong = [i + 1 for i in picked if in_shape[i] != 1]
    if wrong:
        raise ShapeMismatch(f"Squeeze axes {wrong} of (batch, {', '.join(map(str, in_shape))}) are not 1")
    out = tuple(s for i, s in enumerate(in_shape) if i not in picked)
    return ReshapeCell(out), out


@BLOCKS.register("Unsqueeze")
def unsqueeze(in_shape, axes: Union[int, Sequence[int]]):
    """Size-1 axes inserted at ``axes`` (positions in the result, as ONNX)."""
    rank = len(in_shape) + (1 if isinstance(axes, int) else len(axes))
    picked = _axes(axes, rank, "Unsqueeze")
    rest = iter(in_shape)
    out = tuple(1 if i in picked else next(rest) for i in range(rank))
    return ReshapeCell(out), out


class SliceCell(nn.Cell):
    def __init__(self, begin, end, strides):
        super().__init__()
        self.begin, self.end, self.strides = tuple(begin), tuple(end), tuple(strides)

    def construct(self, x):
        return ops.strided_slice(x, self.begin, self.end, self.strides)


class TakeCell(nn.Cell):
    """``x`` at constant ``indices`` along ``axis`` (a 0-d index drops the axis)."""

    def __init__(self, indices, axis: int):
        super().__init__()
        self.indices, self.axis = Tensor(np.asarray(indices, np.int32)), axis

    def construct(self, x):
        return ops.gather(x, self.indices, self.axis)


@BLOCKS.register("Slice")
def slice_(in_shape, starts: Sequence[int], ends: Sequence[int], axes: Optional[Sequence[int]] = None,
           steps: Optional[Sequence[int]] = None):
    """``x[starts:ends:steps]`` along ``axes`` (default 1, 2, ...), Python's clamping of out-of-range ends."""
    axes = list(range(1, len(starts) + 1)) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
        raise ConfigError(".starts", f"starts {list(starts)}, ends {list(ends)}, axes {axes}, steps {steps}",
                          expected="one start, end, axis and non-zero step per sliced axis")
    rank = len(in_shape)
    picks = {sample_axis(int(a), rank, "Slice"): range(in_shape[sample_axis(int(a), rank, "Slice")])[
        slice(int(b), int(e), int(s))] for a, b, e, s in zip(axes, starts, ends, steps)}
    out = tuple(len(picks[i]) if i in picks else s for i, s in enumerate(in_shape))
    if 0 in out:
        raise ShapeMismatch(f"Slice leaves nothing of {tuple(in_shape)}: result {out}")
    # strided steps are gathers: MindSpore 2.10's StridedSliceGrad reads out of bounds for a step of 2 in
    # PyNative mode (Swin's patch merging, x[:, 0::2, 0::2, :])
    if all(r.step == 1 for r in picks.values()):
        begin = [0] + [picks[i].start if i in picks else 0 for i in range(rank)]
        end = [MAX_BATCH] + [picks[i].stop if i in picks else s for i, s in enumerate(in_shape)]
        strides = [1] + [picks[i].step if i in picks else 1 for i in range(rank)]
        return SliceCell(begin, end, strides), out
    cells = [TakeCell(list(r), i + 1) for i, r in sorted(picks.items())]
    return nn.SequentialCell(cells), out


MAX_BATCH = 2**31 - 1   # the end of the batch axis in a strided slice (clamped to the batch)


@BLOCKS.register("Gather")
def gather(in_shape, index: Union[int, Sequence[int]], axis: int = 1):
    """``x`` at ``index`` along ``axis``: an int selects and drops the axis, a list keeps it (ONNX Gather
    with constant indices; negative indices count from the end)."""
    rank = len(in_shape)
    i = sample_axis(int(axis), rank, "Gather")
    size = in_shape[i]
    values = [index] if isinstance(index, int) else list(index)
    bad = [v for v in values if not -size <= int(v) < size]
    if bad or not values:
        raise ConfigError(".index", f"got {index!r}", expected=f"indices from {-size} to {size - 1} of axis {axis}")
    fixed = [int(v) % size for v in values]
    if isinstance(index, int):
        return TakeCell(fixed[0], i + 1), tuple(in_shape[:i]) + tuple(in_shape[i + 1:])
    return TakeCell(fixed, i + 1), tuple(in_shape[:i]) + (len(fixed),) + tuple(in_shape[i + 1:])


class BroadcastBatchCell(nn.Cell):
    def __init__(self, shape: tuple):
        super().__init__()
        self.shape = tuple(shape)

    def construct(self, x, like):
        return ops.broadcast_to(x, (like.shape[0],) + self.shape)


@BLOCKS.register("BroadcastBatch", inputs=2)
def broadcast_batch(in_shape, shape: Optional[Sequence[int]] = None):
    """The first input (a ``[1, ...]`` tensor such as a class token) repeated over the batch of the second;
    ``shape``: a per-sample shape to broadcast to as well (ONNX Expand), default the first input's."""
    own, _ = in_shape
    target = tuple(own) if shape is None else tuple(int(s) for s in shape)
    try:
        np.broadcast_shapes(tuple(own), target)
    except ValueError:
        raise ShapeMismatch(f"BroadcastBatch cannot broadcast {tuple(own)} to {target}") from None
    if np.broadcast_shapes(tuple(own), target) != target:
        raise ShapeMismatch(f"BroadcastBatch cannot broadcast {tuple(own)} to {target}")
    return BroadcastBatchCell(target), target


BLOCKS.register("Expand", broadcast_batch, inputs=2)


class ReduceCell(nn.Cell):
    def __init__(self, mean: bool, axes: tuple, keepdims: bool):
        super().__init__()
        self.mean, self.axes, self.keepdims = mean, axes, keepdims

    def construct(self, x):
        if self.mean:
            return ops.mean(x, self.axes, self.keepdims)
        return ops.sum(x, self.axes, self.keepdims)


def _reduce(mean: bool, name: str):
    def factory(in_shape, axes: Union[int, Sequence[int], None] = None, keepdims: bool = True):
        picked = list(range(len(in_shape))) if axes is None else _axes(axes, len(in_shape), name)
        out = tuple(1 if i in picked else s for i, s in enumerate(in_shape)) if keepdims else \
            tuple(s for i, s in enumerate(in_shape) if i not in picked)
        return ReduceCell(mean, tuple(i + 1 for i in picked), bool(keepdims)), out
    factory.__name__ = factory.__qualname__ = name.lower()
    factory.__doc__ = (f"The {'mean' if mean else 'sum'} over ``axes`` (null: every axis of a sample; "
                       "``keepdims`` true as ONNX's default).")
    return factory


BLOCKS.register("ReduceMean", _reduce(True, "ReduceMean"))
BLOCKS.register("ReduceSum", _reduce(False, "ReduceSum"))
