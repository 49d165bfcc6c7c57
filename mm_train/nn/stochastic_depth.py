"""Stochastic depth ("row" mode): in training, drop a whole residual branch per sample with
probability ``p`` and scale the kept ones by ``1 / (1 - p)``; in inference, the identity.

    body:
      conv: {type: Conv2d, out_channels: 64, kernel_size: 3}
      drop: {type: StochasticDepth, p: 0.1}        # last in a Residual's body: drops the branch

``network.drop_path_rate: 0.1`` sets the rate of every stochastic-depth cell of the network
(EncoderBlock's ``drop_path``, ConvNeXtBlock's ``stochastic_depth``, StochasticDepth layers; an
MBConv has one only when its own ``stochastic_depth`` > 0) linearly over depth, as timm's
``torch.linspace(0, drop_path_rate, depth)``: 0 for the first, the rate for the last.
"""
from __future__ import annotations

from mindspore import nn, ops

from mm_train.core.errors import ConfigError
from mm_train.registry import BLOCKS


class DropRate(float):
    """A drop probability: 0 <= p < 1 (checked by validation, before anything is built)."""
    description = "a drop probability, 0 <= p < 1"

    @staticmethod
    def fits(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1


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


def scale_over_depth(network, rate: float, where: str = "network.drop_path_rate") -> list[float]:
    """Set the stochastic-depth cells of ``network``, in build order, to ``rate * i / (n - 1)``; the rates."""
    rate = check_p(rate, where)
    cells = [cell for _, cell in network.cells_and_names() if isinstance(cell, StochasticDepthCell)]
    if not cells and rate > 0:
        raise ConfigError(where, f"got {rate} but the network has no block with stochastic depth",
                          expected="EncoderBlock, ConvNeXtBlock or StochasticDepth layers, or 0")
    rates = [rate * i / max(len(cells) - 1, 1) for i in range(len(cells))]
    for cell, p in zip(cells, rates):
        cell.p, cell.keep = p, 1.0 - p
    return rates
