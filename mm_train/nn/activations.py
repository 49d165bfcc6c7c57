"""Activations by name, for blocks that take ``activation: NAME`` (and the hard-sigmoid block).

    act: {type: HSigmoid}             # relu6(x + 3) / 6, MobileNetV3's gate
    se: {type: SqueezeExcitation, activation: ReLU, scale_activation: HSigmoid}
"""
from __future__ import annotations

from typing import Literal, Optional

from mindspore import nn

from mm_train.core.errors import ConfigError
from mm_train.registry import BLOCKS

Activation = Optional[Literal["ReLU", "ReLU6", "HSwish", "HSigmoid", "SiLU", "Sigmoid", "GELU", "Tanh"]]
ACTIVATIONS = {"ReLU": nn.ReLU, "ReLU6": nn.ReLU6, "HSwish": nn.HSwish, "HSigmoid": nn.HSigmoid, "SiLU": nn.SiLU,
               "Sigmoid": nn.Sigmoid, "GELU": lambda: nn.GELU(approximate=False), "Tanh": nn.Tanh}


def make_activation(name: Optional[str], where: str = ".activation"):
    """A new activation Cell for ``name`` (GELU: the exact erf form, as torch's), or None for ``null``."""
    if name is None:
        return None
    if name not in ACTIVATIONS:
        raise ConfigError(where, f"unknown activation {name!r}", expected=f"one of {list(ACTIVATIONS)} or null")
    return ACTIVATIONS[name]()


@BLOCKS.register("HSigmoid")
def hsigmoid(in_shape):
    """Hard sigmoid ``relu6(x + 3) / 6`` (torch's Hardsigmoid); ``HSwish`` is ``x * HSigmoid(x)``."""
    return nn.HSigmoid(), tuple(in_shape)
