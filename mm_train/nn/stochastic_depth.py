"""Stochastic depth ("row" mode): in training, drop a whole residual branch per sample with
probability ``p`` and scale the kept ones by ``1 / (1 - p)``; in inference, the identity.

    body:
      conv: {type: Conv2d, out_channels: 64, kernel_size: 3}
      drop: {type: StochasticDepth, p: 0.1}        # last in a Residual's body: drops the branch
"""
from __future__ import annotations

from mindspore import nn, ops

from mm_train.errors import ConfigError
from mm_train.registry import BLOCKS


class StochasticDepthCell(nn.Cell):
    def __init__(self, p: float):
        super().__init__()
        self.p, self.keep = float(p), 1.0 - float(p)
        self.uniform = ops.UniformReal()

    def construct(self, x):
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0],) + (1,) * (len(x.shape) - 1)
        mask = ops.floor(self.uniform(shape) + self.keep)
        return x * mask / self.keep


def check_p(p, where: str = ".p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ConfigError(where, f"got {p!r}", expected="a drop probability, 0 <= p < 1")
    return float(p)


@BLOCKS.register("StochasticDepth")
def stochastic_depth(in_shape, p: float = 0.0):
    """Drop the input per sample with probability ``p`` while training (identity in inference)."""
    return StochasticDepthCell(check_p(p)), tuple(in_shape)
