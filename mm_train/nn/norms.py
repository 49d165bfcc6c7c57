"""LayerNorm over the last axis (tokens, features) and over the channels of an image (ConvNeXt's).

    ln: {type: LayerNorm, eps: 1.0e-6}           # (tokens, dim) or (features,): normalises the last axis
    norm: {type: LayerNorm2d, eps: 1.0e-6}       # (C, H, W): normalises C at every position

Both are MindSpore's ``nn.LayerNorm`` (parameters ``gamma``/``beta``; torch's ``weight``/``bias``).
"""
from __future__ import annotations

from mindspore import nn, ops

from mm_train.nn.shapes import expect_chw
from mm_train.registry import BLOCKS


def layer_norm(channels: int, eps: float) -> nn.LayerNorm:
    return nn.LayerNorm((channels,), begin_norm_axis=-1, begin_params_axis=-1, epsilon=eps)


class LayerNorm2dCell(nn.LayerNorm):
    """``nn.LayerNorm`` over the channel axis of NCHW input."""

    def construct(self, x):
        return ops.transpose(super().construct(ops.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2))


@BLOCKS.register("LayerNorm")
def layernorm(in_shape, eps: float = 1e-5, axis: int = -1):
    """Normalise the last axis, with a learned scale and shift per feature; ``axis``: normalise the axes from
    ``axis`` to the last together (ONNX LayerNormalization; the batch axis is 0)."""
    if axis == -1:
        return layer_norm(int(in_shape[-1]), eps), tuple(in_shape)
    from mm_train.nn.merge import sample_axis
    i = sample_axis(axis, len(in_shape), "LayerNorm")
    return nn.LayerNorm(tuple(in_shape[i:]), begin_norm_axis=i + 1, begin_params_axis=i + 1,
                        epsilon=eps), tuple(in_shape)


@BLOCKS.register("LayerNorm2d")
def layernorm2d(in_shape, eps: float = 1e-6):
    """Normalise the channels at each position of a (C, H, W) map (ConvNeXt's LayerNorm2d)."""
    c, _, _ = expect_chw(in_shape, "LayerNorm2d")
    return LayerNorm2dCell((c,), begin_norm_axis=-1, begin_params_axis=-1, epsilon=eps), tuple(in_shape)
