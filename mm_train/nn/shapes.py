"""Output-shape arithmetic for layers, so ``in_channels`` never has to be written.

Shapes are per sample, without the batch axis: ``(C, H, W)`` or ``(features,)``.
"""
from __future__ import annotations

import math
from typing import Sequence


class ShapeMismatch(Exception):
    """A layer cannot take the shape its previous layer produces (the builder adds the path)."""


def pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def expect_chw(shape: Sequence[int], layer: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeMismatch(f"{layer} needs a (channels, height, width) input but gets shape "
                            f"{tuple(shape)}; a layer that flattens (Flatten, GlobalAvgPool) cannot come before it")
    return tuple(int(s) for s in shape)


def expect_flat(shape: Sequence[int], layer: str) -> int:
    if len(shape) != 1:
        raise ShapeMismatch(f"{layer} needs a flat (features,) input but gets shape {tuple(shape)}; "
                            "put a Flatten or GlobalAvgPool layer before it")
    return int(shape[0])


def window_out(size: int, kernel: int, stride: int, pad_mode: str, padding: int = 0,
               dilation: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis (MindSpore's pad modes)."""
    pad_mode = pad_mode.lower()
    if pad_mode == "same":
        return math.ceil(size / stride)
    span = dilation * (kernel - 1) + 1
    total = size + (2 * padding if pad_mode == "pad" else 0)
    return (total - span) // stride + 1


def spatial_out(hw: tuple[int, int], kernel, stride, pad_mode: str, padding=0, dilation=1,
                layer: str = "layer") -> tuple[int, int]:
    kernel, stride, dilation = pair(kernel), pair(stride), pair(dilation)
    padding = pair(padding) if not isinstance(padding, (list, tuple)) or len(padding) == 2 else (padding[0], padding[2])
    out = tuple(window_out(hw[i], kernel[i], stride[i], pad_mode, padding[i], dilation[i]) for i in range(2))
    if min(out) < 1:
        raise ShapeMismatch(f"{layer} shrinks the {hw[0]}x{hw[1]} map below 1x1 (kernel {kernel}, "
                            f"stride {stride}, pad_mode {pad_mode}): use a larger input or fewer strides")
    return out


class Unbatched(tuple):
    """The whole shape of a tensor without a batch axis (a ``Parameter`` whose shape does not start with 1,
    e.g. a ``[C, 1, 1]`` scale): it broadcasts against a batched tensor right-aligned, as in ONNX."""


def is_unbatched(shape) -> bool:
    return isinstance(shape, Unbatched)
