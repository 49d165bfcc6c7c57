"""Mobile blocks: conv-norm-activation, squeeze-excitation, inverted residuals (MobileNetV2, V3) and MBConv
(EfficientNet). Child names follow torchvision's modules, so its state_dicts load by name::

    stem: {type: ConvNormAct, out_channels: 32, kernel_size: 3, stride: 2, activation: ReLU6}   # stem.0, stem.1
    b1: {type: InvertedResidual, out_channels: 24, expand_ratio: 6, stride: 2}     # b1.conv.0.0.weight, ...
    b2: {type: InvertedResidualV3, out_channels: 40, expanded_channels: 72, kernel_size: 5, stride: 2,
         use_se: true, activation: ReLU}                                          # b2.block.2.fc1.weight, ...
    b3: {type: MBConv, out_channels: 24, expand_ratio: 6, kernel_size: 3, stride: 2, stochastic_depth: 0.0125}

Convolutions pad symmetrically by ``(kernel_size - 1) // 2``, as torch's.
"""
from __future__ import annotations

from typing import Literal, Optional

from mindspore import nn, ops

from mm_train.core.argtypes import NonNegativeInt, PositiveInt
from mm_train.core.errors import ConfigError
from mm_train.nn.activations import Activation, make_activation
from mm_train.nn.norms import LayerNorm2dCell
from mm_train.nn.shapes import expect_chw, spatial_out
from mm_train.nn.stochastic_depth import StochasticDepthCell, check_p
from mm_train.registry import BLOCKS


def make_divisible(value: float, divisor: int = 8) -> int:
    """The nearest multiple of ``divisor`` (at least ``divisor``), not below 90 % of ``value``."""
    out = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * value else out


def conv_norm_act(cin, cout, kernel, stride=1, group=1, activation="ReLU", eps=1e-5, momentum=0.9,
                  norm="BatchNorm2d", has_bias=False, padding=None):
    """``SequentialCell([conv, norm, activation])`` (names 0, 1, 2; a missing part is left out)."""
    padding = (kernel - 1) // 2 if padding is None else padding
    layers = [nn.Conv2d(cin, cout, kernel, stride=stride, pad_mode="pad" if padding else "valid",
                        padding=padding, group=group, has_bias=has_bias)]
    if norm == "BatchNorm2d":
        layers.append(nn.BatchNorm2d(cout, eps=eps, momentum=momentum))
    elif norm == "LayerNorm2d":
        layers.append(LayerNorm2dCell((cout,), begin_norm_axis=-1, begin_params_axis=-1, epsilon=eps))
    act = make_activation(activation)
    if act is not None:
        layers.append(act)
    return nn.SequentialCell(layers)


@BLOCKS.register("ConvNormAct")
def conv_norm_act_block(in_shape, out_channels: PositiveInt, kernel_size: PositiveInt = 3, stride: PositiveInt = 1,
                        group: PositiveInt = 1, depthwise: bool = False, padding: Optional[NonNegativeInt] = None,
                        activation: Activation = "ReLU", norm: Optional[Literal["BatchNorm2d", "LayerNorm2d"]] =
                        "BatchNorm2d", eps: float = 1e-5, momentum: float = 0.9, has_bias: bool = False):
    """conv (padding ``(kernel_size - 1) // 2`` unless given) -> norm -> activation, named 0, 1, 2 as
    torchvision's Conv2dNormActivation. ``depthwise: true`` is ``group`` = input channels = output channels."""
    c, h, w = expect_chw(in_shape, "ConvNormAct")
    if depthwise:
        if out_channels != c:
            raise ConfigError(".out_channels", f"got {out_channels} for a depthwise conv of {c} channels",
                              expected=f"{c} (depthwise keeps the channels)")
        group = c
    if c % group or out_channels % group:
        raise ConfigError(".group", f"got {group} for {c} -> {out_channels} channels",
                          expected="a divisor of both channel counts")
    pad = (kernel_size - 1) // 2 if padding is None else padding
    out = spatial_out((h, w), kernel_size, stride, "pad", pad, 1, "ConvNormAct")
    return conv_norm_act(c, out_channels, kernel_size, stride, group, activation, eps, momentum, norm, has_bias,
                         pad), (out_channels, *out)


class SqueezeExcitationCell(nn.Cell):
    """``x * scale_activation(fc2(activation(fc1(mean over H, W of x))))``; fc1/fc2 are 1x1 convs."""

    def __init__(self, channels, squeeze, activation="ReLU", scale_activation="Sigmoid"):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1, pad_mode="valid", has_bias=True)
        self.fc2 = nn.Conv2d(squeeze, channels, 1, pad_mode="valid", has_bias=True)
        self.activation = make_activation(activation)
        self.scale_activation = make_activation(scale_activation, ".scale_activation")

    def construct(self, x):
        scale = ops.mean(x, (2, 3), keep_dims=True)
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(scale))))


@BLOCKS.register("SqueezeExcitation")
def squeeze_excitation(in_shape, squeeze_channels: Optional[PositiveInt] = None, squeeze_ratio: float = 0.25,
                       activation: Activation = "ReLU",
                       scale_activation: Literal["Sigmoid", "HSigmoid"] = "Sigmoid"):
    """Channel attention; ``squeeze_channels`` defaults to ``squeeze_ratio`` x channels, a multiple of 8
    (MobileNetV3: ``scale_activation: HSigmoid``; EfficientNet: ``activation: SiLU``)."""
    c, h, w = expect_chw(in_shape, "SqueezeExcitation")
    squeeze = squeeze_channels or make_divisible(c * squeeze_ratio, 8)
    return SqueezeExcitationCell(c, squeeze, activation, scale_activation), (c, h, w)


class InvertedResidualCell(nn.Cell):
    """``body(x)`` (+ ``x`` when ``residual``, after stochastic depth); the body is a child named ``name``."""

    def __init__(self, name, layers, residual, drop=0.0):
        super().__init__()
        body = nn.SequentialCell(layers)
        self.insert_child_to_cell(name, body)
        self.body = [body]                          # a plain list: no second name
        self.residual = residual
        self.use_drop = residual and drop > 0.0
        if self.use_drop:
            self.stochastic_depth = StochasticDepthCell(drop)

    def construct(self, x):
        out = self.body[0](x)
        if self.residual:
            if self.use_drop:
                out = self.stochastic_depth(out)
            out = out + x
        return out


def _spatial(in_shape, kernel, stride, name):
    c, h, w = expect_chw(in_shape, name)
    return c, spatial_out((h, w), kernel, stride, "pad", (kernel - 1) // 2, 1, name)


@BLOCKS.register("InvertedResidual")
def inverted_residual(in_shape, out_channels: PositiveInt, expand_ratio: PositiveInt = 6, stride: PositiveInt = 1,
                      kernel_size: PositiveInt = 3, activation: Activation = "ReLU6", eps: float = 1e-5,
                      momentum: float = 0.9):
    """MobileNetV2: 1x1 expand (unless ``expand_ratio`` 1) -> depthwise -> 1x1 linear projection -> BN,
    plus the input when the shape is kept. Names: ``conv.0.0.weight`` ... (torchvision's)."""
    c, out = _spatial(in_shape, kernel_size, stride, "InvertedResidual")
    hidden = int(round(c * expand_ratio))
    layers = [conv_norm_act(c, hidden, 1, 1, 1, activation, eps, momentum)] if expand_ratio != 1 else []
    layers += [conv_norm_act(hidden, hidden, kernel_size, stride, hidden, activation, eps, momentum),
               nn.Conv2d(hidden, out_channels, 1, pad_mode="valid", has_bias=False),
               nn.BatchNorm2d(out_channels, eps=eps, momentum=momentum)]
    cell = InvertedResidualCell("conv", layers, stride == 1 and c == out_channels)
    return cell, (out_channels, *out)


@BLOCKS.register("InvertedResidualV3")
def inverted_residual_v3(in_shape, out_channels: PositiveInt, expanded_channels: PositiveInt,
                         kernel_size: PositiveInt = 3, stride: PositiveInt = 1, use_se: bool = False,
                         activation: Literal["ReLU", "HSwish"] = "ReLU", eps: float = 1e-3, momentum: float = 0.99):
    """MobileNetV3: 1x1 expand (unless already ``expanded_channels``) -> depthwise -> squeeze-excitation
    (``use_se``; ReLU, hard sigmoid) -> 1x1 projection. Names: ``block.0.0.weight`` ... (torchvision's)."""
    c, out = _spatial(in_shape, kernel_size, stride, "InvertedResidualV3")
    e = expanded_channels
    layers = [conv_norm_act(c, e, 1, 1, 1, activation, eps, momentum)] if e != c else []
    layers.append(conv_norm_act(e, e, kernel_size, stride, e, activation, eps, momentum))
    if use_se:
        layers.append(SqueezeExcitationCell(e, make_divisible(e // 4, 8), "ReLU", "HSigmoid"))
    layers.append(conv_norm_act(e, out_channels, 1, 1, 1, None, eps, momentum))
    return InvertedResidualCell("block", layers, stride == 1 and c == out_channels), (out_channels, *out)


@BLOCKS.register("MBConv")
def mbconv(in_shape, out_channels: PositiveInt, expand_ratio: float = 6, kernel_size: PositiveInt = 3,
           stride: PositiveInt = 1, se_ratio: float = 0.25, stochastic_depth: float = 0.0,
           activation: Activation = "SiLU", eps: float = 1e-5, momentum: float = 0.9):
    """EfficientNet: 1x1 expand (to a multiple of 8) -> depthwise -> squeeze-excitation (SiLU, sigmoid;
    ``se_ratio`` of the input channels) -> 1x1 projection; on the residual path, stochastic depth
    (drop probability ``stochastic_depth``). Names: ``block.0.0.weight`` ... (torchvision's)."""
    c, out = _spatial(in_shape, kernel_size, stride, "MBConv")
    e = make_divisible(c * expand_ratio, 8)
    layers = [conv_norm_act(c, e, 1, 1, 1, activation, eps, momentum)] if e != c else []
    layers.append(conv_norm_act(e, e, kernel_size, stride, e, activation, eps, momentum))
    layers.append(SqueezeExcitationCell(e, max(1, int(c * se_ratio)), activation, "Sigmoid"))
    layers.append(conv_norm_act(e, out_channels, 1, 1, 1, None, eps, momentum))
    drop = check_p(stochastic_depth, ".stochastic_depth")
    return InvertedResidualCell("block", layers, stride == 1 and c == out_channels, drop), (out_channels, *out)
