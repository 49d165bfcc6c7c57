"""``Parameter``: a learned tensor as a layer of its own (a class token, a position embedding, a scale).

    class_token: {type: Parameter, shape: [1, 1, 768], inputs: []}      # parameter 'class_token'
    tokens: {type: Concat, axis: 1, inputs: [cls, patches]}             # after a BroadcastBatch

``shape`` is the tensor's whole shape. A leading 1 is the batch axis (it broadcasts over the batch);
without it the tensor has no batch axis and broadcasts right-aligned (a ``[C, 1, 1]`` scale).
Its one parameter is named exactly the layer name; its value comes from a checkpoint (``init_from``).
"""
from __future__ import annotations

from typing import Sequence

import math

from mindspore import Parameter, nn, ops
from mindspore import dtype as mstype
from mindspore.common.initializer import initializer

from mm_train.core.argtypes import Initializer, MAX_INT
from mm_train.core.errors import ConfigError
from mm_train.nn.shapes import Unbatched
from mm_train.registry import BLOCKS


class ParameterCell(nn.Cell):
    """Returns its one parameter; ``parameter_name`` tells the graph builder to name it after the layer."""

    parameter_name = True

    def __init__(self, shape: tuple, init, requires_grad: bool):
        super().__init__()
        self.value = Parameter(initializer(init, shape), name="value", requires_grad=requires_grad)


    def construct(self):
        return self.value


@BLOCKS.register("Parameter", inputs=0)
def parameter(in_shape, shape: Sequence[int], requires_grad: bool = True, init: Initializer = "zeros"):
    """A learned tensor of ``shape`` (its whole shape), initialised by ``init``; takes ``inputs: []``."""
    if (not isinstance(shape, (list, tuple)) or not shape or not all(isinstance(s, int) and s > 0 for s in shape)
            or math.prod(shape) > MAX_INT):
        raise ConfigError(".shape", f"got {shape!r}", expected="the tensor's shape, e.g. [1, 1, 768]")
    shape = tuple(int(s) for s in shape)
    if not isinstance(init, str) or "(" in init:
        from mm_train.nn.init import make_initializer
        init = make_initializer(init, ".init")
    try:
        cell = ParameterCell(shape, init, requires_grad)
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(".init", f"got {init!r}: {err}", expected="an initializer such as zeros, ones, "
                          "normal, truncatedNormal, or {type: Normal, sigma: 0.02}") from None
    return cell, (shape[1:] if shape[0] == 1 else Unbatched(shape))


class IndexedCell(nn.Cell):
    """``table.reshape(-1)[index]``; ``index`` is a fixed (non-trainable) parameter of whole numbers."""

    # whole numbers stored as float32, not values: no float32 rounding moves them (parity's self_floor leaves
    # them as they are; nudged by one rounding, 168 * (1 - 2**-23) casts to 167, the neighbouring entry)
    exact_parameters = ("index",)

    def __init__(self, shape: tuple):
        super().__init__()
        self.index = Parameter(initializer("zeros", shape), name="index", requires_grad=False)

    def construct(self, table):
        flat = ops.reshape(table, (-1,))
        return ops.gather(flat, ops.cast(self.index, mstype.int32), 0)


@BLOCKS.register("Indexed", takes_unbatched=True)
def indexed(in_shape, shape: Sequence[int]):
    """Entries of the input (a ``Parameter`` such as a relative-position bias table) picked by a fixed index
    of ``shape`` (its whole shape; the index, whole numbers into the flattened table, comes from a checkpoint as
    ``LAYER.index``). Gradients reach the table, shared entries summed: Swin's
    ``relative_position_bias_table[relative_position_index]`` stays one parameter of the source's shape.

        features.1.0.attn.relative_position_bias_table: {type: Parameter, shape: [169, 3], inputs: []}
        bias: {type: Indexed, shape: [1, 3, 49, 49], inputs: features.1.0.attn.relative_position_bias_table}
    """
    if (not isinstance(shape, (list, tuple)) or not shape or not all(isinstance(s, int) and s > 0 for s in shape)
            or math.prod(shape) > MAX_INT):
        raise ConfigError(".shape", f"got {shape!r}", expected="the picked tensor's shape, e.g. [1, 3, 49, 49]")
    shape = tuple(int(s) for s in shape)
    return IndexedCell(shape), (shape[1:] if shape[0] == 1 else Unbatched(shape))
