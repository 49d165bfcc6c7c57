"""The project's own blocks: ConvBNReLU, ResidualBlock (bottleneck), Stage, GlobalAvgPool.

Parameter names follow the MindSpore model zoo's ResNet (official/cv/ResNet/src/resnet.py),
so zoo checkpoints load by name::

    layer1: {type: Stage, block: ResidualBlock, repeat: 3, out_channels: 256, stride: 1}
    # -> layer1.0.conv1.weight, layer1.0.bn1.gamma, layer1.0.down_sample_layer.0.weight, ...
"""
from __future__ import annotations

from mindspore import nn, ops

from mm_train.errors import ConfigError
from mm_train.nn.shapes import ShapeMismatch, expect_chw, spatial_out
from mm_train.registry import BLOCKS, check_arguments


def _bn(channels, eps, momentum, gamma_init="ones"):
    return nn.BatchNorm2d(channels, eps=eps, momentum=momentum, gamma_init=gamma_init)


def _conv(cin, cout, kernel, stride, pad_mode):
    padding = kernel // 2 if pad_mode == "pad" else 0
    return nn.Conv2d(cin, cout, kernel, stride=stride, pad_mode=pad_mode, padding=padding)


class ConvBNAct(nn.Cell):
    """conv -> bn -> activation (ReLU)."""

    def __init__(self, cin, cout, kernel, stride, pad_mode, eps, momentum, activation=True):
        super().__init__()
        self.conv = _conv(cin, cout, kernel, stride, pad_mode)
        self.bn = _bn(cout, eps, momentum)
        self.relu = nn.ReLU() if activation else nn.Identity()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


@BLOCKS.register("ConvBNReLU")
def conv_bn_relu(in_shape, out_channels, kernel_size=3, stride=1, pad_mode="same", eps=1e-5, momentum=0.9):
    c, h, w = expect_chw(in_shape, "ConvBNReLU")
    padding = kernel_size // 2 if pad_mode == "pad" else 0
    out = spatial_out((h, w), kernel_size, stride, pad_mode, padding, 1, "ConvBNReLU")
    return ConvBNAct(c, out_channels, kernel_size, stride, pad_mode, eps, momentum), (out_channels, *out)


class Bottleneck(nn.Cell):
    """ResNet v1.5 bottleneck: 1x1 -> 3x3 (carries the stride) -> 1x1 (x expansion), plus shortcut."""

    def __init__(self, cin, cout, stride, expansion, pad_mode, eps, momentum, zero_init_last_bn):
        super().__init__()
        channels = cout // expansion
        self.conv1 = _conv(cin, channels, 1, 1, pad_mode)
        self.bn1 = _bn(channels, eps, momentum)
        self.conv2 = _conv(channels, channels, 3, stride, pad_mode)
        self.bn2 = _bn(channels, eps, momentum)
        self.conv3 = _conv(channels, cout, 1, 1, pad_mode)
        self.bn3 = _bn(cout, eps, momentum, "zeros" if zero_init_last_bn else "ones")
        self.relu = nn.ReLU()
        self.down_sample = stride != 1 or cin != cout
        self.down_sample_layer = None
        if self.down_sample:
            self.down_sample_layer = nn.SequentialCell([_conv(cin, cout, 1, stride, pad_mode),
                                                        _bn(cout, eps, momentum)])

    def construct(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.down_sample:
            identity = self.down_sample_layer(identity)
        return self.relu(out + identity)


@BLOCKS.register("ResidualBlock")
def residual_block(in_shape, out_channels, stride=1, expansion=4, pad_mode="same", eps=1e-4,
                   momentum=0.9, zero_init_last_bn=True):
    c, h, w = expect_chw(in_shape, "ResidualBlock")
    if out_channels % expansion:
        raise ShapeMismatch(f"ResidualBlock out_channels {out_channels} is not a multiple of expansion {expansion}")
    out = spatial_out((h, w), 3, stride, pad_mode, 1 if pad_mode == "pad" else 0, 1, "ResidualBlock")
    cell = Bottleneck(c, out_channels, stride, expansion, pad_mode, eps, momentum, zero_init_last_bn)
    return cell, (out_channels, *out)


@BLOCKS.register("Stage")
def stage(in_shape, block, repeat, out_channels, stride=1, **block_args):
    """``repeat`` copies of ``block``; the first carries the stride, channels flow through."""
    factory = BLOCKS.get(block, ".block")
    if not isinstance(repeat, int) or repeat < 1:
        raise ConfigError(".repeat", f"got {repeat!r}", expected="a whole number >= 1")
    check_arguments(factory, {"out_channels": out_channels, "stride": stride, **block_args},
                    f".block({block})", skip=1)
    cells, shape = [], tuple(in_shape)
    for i in range(repeat):
        cell, shape = factory(shape, out_channels=out_channels, stride=stride if i == 0 else 1, **block_args)
        cells.append(cell)
    return nn.SequentialCell(cells), shape


class GlobalAvgPoolCell(nn.Cell):
    def construct(self, x):
        return ops.mean(x, (2, 3), keep_dims=False)


@BLOCKS.register("GlobalAvgPool")
def global_avg_pool(in_shape):
    c, _, _ = expect_chw(in_shape, "GlobalAvgPool")
    return GlobalAvgPoolCell(), (c,)
